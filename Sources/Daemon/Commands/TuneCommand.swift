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
    @Option(help: "Precision to measure: auto (both fp32 and bf16 where the CPU multiplies bf16 natively, else fp32), fp32 or bf16.")
    var precision: PrecisionSetting = .auto
    @Flag(help: "Print one JSON document.") var json = false

    func run() throws {
        guard images >= 1, cores >= 1 else { throw ValidationError("--images and --cores must be at least 1") }
        let folder = try ModelLocator.resolve(model)
        let precisions: [Precision] = precision == .auto && PrecisionSetting.nativeBF16 ? [.fp32, .bf16] : [precision.resolved]
        var results: [WorkerSplit.Measured] = []
        for p in precisions {
            // Loaded in the precision measured, as `mdd serve` would load it (bf16: bf16 weights only).
            let engine = try reportingEngineErrors { try TextToImage(folder: folder, embeddingCacheBytes: 0, precision: p) }
            results += try WorkerSplit.measureAll(engine: engine, cores: cores, imagesPerWorker: images) { m in
                if !json { print(String(format: "%@  %2d workers x %2d threads: %7.1f images/s", p.rawValue, m.workers, m.blasThreads, m.imagesPerSecond)) }
            }
        }
        let choice = WorkerSplit.best(results)!
        if json {
            struct Report: Encodable { let model: String; let cores: Int; let results: [WorkerSplit.Measured]; let recommended: WorkerSplit.Measured }
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try enc.encode(Report(model: folder, cores: cores, results: results, recommended: choice)), as: UTF8.self))
        } else {
            let baseline = results[0].imagesPerSecond
            print(String(format: "recommended: mdd serve --workers %d --blas-threads %d --precision %@ (%.1f images/s, %.2fx one fp32 worker with all threads);"
                         + " config keys \"workers\": %d, \"blas_threads\": %d, \"precision\": \"%@\"", choice.workers, choice.blasThreads,
                         choice.precision, choice.imagesPerSecond, choice.imagesPerSecond / baseline, choice.workers, choice.blasThreads,
                         choice.precision))
        }
    }
}
