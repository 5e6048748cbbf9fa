import ArgumentParser
import Engine
import Foundation

/// `mdd bench`: median per-stage latency, peak RSS and achieved GFLOP/s against the measured sgemm peak.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Benchmark one-image rendering of a model or config.")

    @Option(help: "diffusers-format model folder (default: the embedded model).") var model: String?
    @Option(help: "A folder of configs only; use with --random-weights.") var config: String?
    @Flag(name: .customLong("random-weights"), help: "Build the model from its configs with deterministic random weights.") var randomWeights = false
    @Option(name: .customLong("weights-seed"), help: "Seed of the random weights.") var weightsSeed: UInt64 = 0
    @Option(help: "Timed runs after one warm-up.") var runs = 3
    @Option(help: "Width (default: the model's).") var width: Int?
    @Option(help: "Height (default: the model's).") var height: Int?
    @Option(help: "Steps.") var steps = 1
    @Option(help: "Guidance scale.") var guidance: Float = 0
    @Option(help: "Threads per render (default: OPENBLAS_NUM_THREADS, else all cores).") var threads: Int?
    @Option(help: "Throughput mode: this many engines render --runs images each, in parallel threads (as `mdd serve --workers`); prints images/s.")
    var workers: Int?
    @Option(help: "Precision of the matrix products: auto (bf16 where the CPU multiplies bf16 natively, AVX512-BF16 or AMX; else fp32), fp32, or bf16 (emulated, slower, where the CPU has no BF16).") var precision: PrecisionSetting = .auto
    @Flag(help: "Print one JSON document.") var json = false
    @Flag(help: "Also print where the timed renders' time went, per kind of operation (conv by path, norms, attention, …).")
    var profile = false

    func run() throws {
        guard config == nil || randomWeights else { throw ValidationError("--config needs --random-weights (configs carry no weights)") }
        let folder = try config ?? ModelLocator.resolve(model)
        let blas = try reportingEngineErrors { try BLAS.get() }
        if let threads { blas.threads = threads }
        if let workers { return try throughput(folder: folder, workers: workers, blas: blas) }
        let loadStart = Date()
        let engine = try reportingEngineErrors {
            try TextToImage(folder: folder, source: randomWeights ? .random(seed: weightsSeed) : .file, embeddingCacheBytes: 0,
                            precision: precision.resolved)
        }
        let loadSeconds = Date().timeIntervalSince(loadStart)
        let request = RenderRequest(prompt: "a red circle to the left of a blue square", seed: 1, steps: steps,
                                    guidance: guidance, width: width, height: height)
        _ = try reportingEngineErrors { try engine.render(request) }
        if profile { OpProfile.enable() }
        var results: [RenderedImage] = []
        for _ in 0..<max(1, runs) { results.append(try reportingEngineErrors { try engine.render(request) }) }
        let operations = OpProfile.entries()
        let rss = ResourceUsage.peakRSSBytes()
        let peak = blas.measurePeakGFLOPS(precision: engine.precision)
        let report = BenchReport(engine: engine, blas: blas, results: results, peakGFLOPS: peak, loadSeconds: loadSeconds,
                                 peakRSSBytes: rss)
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try enc.encode(report), as: UTF8.self))
        } else {
            print(report.table())
            if profile { print(Self.profileTable(operations, results: results)) }
        }
    }

    /// Per-operation wall time per render (mean over the timed runs), largest first, and the rest as "other".
    static func profileTable(_ entries: [OpProfile.Entry], results: [RenderedImage]) -> String {
        let renders = Double(max(1, results.count))
        let total = results.reduce(0) { $0 + $1.timings.totalMs } / renders
        var lines = ["", "operation              ms/render   calls   share"]
        var covered = 0.0
        for e in entries {
            let ms = e.seconds * 1000 / renders
            covered += ms
            lines.append(e.label.padding(toLength: 22, withPad: " ", startingAt: 0)
                         + String(format: " %10.1f %7d %6.1f%%", ms, Int(Double(e.calls) / renders), 100 * ms / total))
        }
        lines.append("other".padding(toLength: 22, withPad: " ", startingAt: 0)
                     + String(format: " %10.1f %7@ %6.1f%%", total - covered, "-", 100 * (total - covered) / total))
        return lines.joined(separator: "\n")
    }

    /// Images per second with `workers` engines rendering distinct seeds at once (one warm-up image each first).
    private func throughput(folder: String, workers: Int, blas: BLAS) throws {
        guard (1...64).contains(workers) else { throw ValidationError("--workers must be 1…64") }
        let run = try Throughput.measure(folder: folder, source: randomWeights ? .random(seed: weightsSeed) : .file,
                                         workers: workers, imagesPerWorker: max(1, runs), steps: steps, guidance: guidance,
                                         width: width, height: height, precision: precision.resolved)
        let p = precision.resolved.rawValue
        if json {
            print(#"{"workers": \#(workers), "blasThreads": \#(blas.threads), "precision": "\#(p)", "images": \#(run.images), "seconds": \#(run.seconds), "imagesPerSecond": \#(run.rate)}"#)
        } else {
            print(String(format: "%@: %d workers x %d threads, %@: %d images in %.2f s = %.1f images/s (%.1f ms/image/worker)",
                         run.model, workers, blas.threads, p, run.images, run.seconds, run.rate, run.seconds * 1000 / Double(max(1, runs))))
        }
    }
}

extension Precision: ExpressibleByArgument {}
extension PrecisionSetting: ExpressibleByArgument {}
