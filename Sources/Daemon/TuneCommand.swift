import ArgumentParser
import Engine
import Foundation

/// `mdd tune`: measures images/s for every split of the machine's cores into render workers × BLAS threads and
/// recommends the fastest, as the flags and config keys `mdd serve` takes (`mdd serve --workers auto` makes the same
/// measurement, shorter, at start-up).
struct TuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune", abstract: "Measure images/s for each workers × BLAS-threads split of the cores and recommend one.")

    @Option(help: "diffusers-format model folder (default: the embedded model).") var model: String?
    @Option(help: "Timed images per worker for each candidate.") var images = 20
    @Option(help: "Cores to split (default: all online cores).") var cores = ProcessInfo.processInfo.activeProcessorCount
    @Flag(help: "Print one JSON document.") var json = false

    func run() throws {
        guard images >= 1, cores >= 1 else { throw ValidationError("--images and --cores must be at least 1") }
        let folder = try ModelLocator.resolve(model)
        let engine = try reportingEngineErrors { try TextToImage(folder: folder, embeddingCacheBytes: 0) }
        let results = try WorkerSplit.measureAll(engine: engine, cores: cores, imagesPerWorker: images) { m in
            if !json { print(String(format: "%2d workers x %2d threads: %7.1f images/s", m.workers, m.blasThreads, m.imagesPerSecond)) }
        }
        let choice = WorkerSplit.best(results)!
        if json {
            struct Report: Encodable { let model: String; let cores: Int; let results: [WorkerSplit.Measured]; let recommended: WorkerSplit.Measured }
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
