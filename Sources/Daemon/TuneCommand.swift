import ArgumentParser
import Engine
import Foundation

/// `mdd tune`: measures images/s for every split of the machine's cores into render workers × BLAS threads and
/// recommends the fastest, as the flags and config keys `mdd serve` takes.
struct TuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune", abstract: "Measure images/s for each workers × BLAS-threads split of the cores and recommend one.")

    @Option(help: "diffusers-format model folder (default: the embedded model).") var model: String?
    @Option(help: "Timed images per worker for each candidate.") var images = 20
    @Option(help: "Cores to split (default: all online cores).") var cores = ProcessInfo.processInfo.activeProcessorCount
    @Flag(help: "Print one JSON document.") var json = false

    struct Result: Encodable {
        let workers: Int
        let blasThreads: Int
        let imagesPerSecond: Double
    }

    /// Every (workers, threads) with workers × threads = cores, fewest workers first.
    static func candidates(cores: Int) -> [(workers: Int, threads: Int)] {
        (1...max(1, cores)).filter { cores % $0 == 0 }.map { ($0, cores / $0) }
    }

    /// The fastest; within 3 % of it, the one with fewer workers (each worker holds its own copy of the model).
    static func best(_ results: [Result]) -> Result? {
        guard let top = results.map(\.imagesPerSecond).max() else { return nil }
        return results.filter { $0.imagesPerSecond >= 0.97 * top }.min { $0.workers < $1.workers }
    }

    func run() throws {
        guard images >= 1, cores >= 1 else { throw ValidationError("--images and --cores must be at least 1") }
        let folder = try ModelLocator.resolve(model)
        let blas = try reportingEngineErrors { try BLAS.get() }
        var results: [Result] = []
        for (workers, threads) in Self.candidates(cores: cores) {
            blas.threads = threads
            let run = try Throughput.measure(folder: folder, source: .file, workers: workers, imagesPerWorker: images)
            results.append(Result(workers: workers, blasThreads: threads, imagesPerSecond: run.rate))
            if !json {
                print(String(format: "%2d workers x %2d BLAS threads: %7.1f images/s", workers, threads, run.rate))
            }
        }
        let choice = Self.best(results)!
        if json {
            struct Report: Encodable { let model: String; let cores: Int; let results: [Result]; let recommended: Result }
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try enc.encode(Report(model: folder, cores: cores, results: results, recommended: choice)), as: UTF8.self))
        } else {
            let baseline = results[0].imagesPerSecond
            print(String(format: "recommended: mdd serve --workers %d --blas-threads %d (%.1f images/s, %.2fx one worker with all threads);"
                         + " config keys \"workers\": %d, \"blas_threads\": %d", choice.workers, choice.blasThreads,
                         choice.imagesPerSecond, choice.imagesPerSecond / baseline, choice.workers, choice.blasThreads))
        }
    }
}
