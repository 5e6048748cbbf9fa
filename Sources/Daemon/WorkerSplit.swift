import Engine
import Foundation

/// How the cores are split into render workers × engine ("BLAS") threads per worker, and how the split is measured:
/// `mdd tune` reports every candidate; `mdd serve --workers auto` measures at start-up and takes the best.
enum WorkerSplit {
    struct Measured: Encodable {
        let workers: Int
        let blasThreads: Int
        /// The engine's precision ("fp32" or "bf16").
        let precision: String
        let imagesPerSecond: Double
    }

    /// Every (workers, threads) with workers × threads = cores, fewest workers first.
    static func candidates(cores: Int) -> [(workers: Int, threads: Int)] {
        (1...max(1, cores)).filter { cores % $0 == 0 }.map { ($0, cores / $0) }
    }

    /// The fastest; within 3 % of it, the one with fewer workers (shorter latency per image, less scratch memory).
    static func best(_ results: [Measured]) -> Measured? {
        guard let top = results.map(\.imagesPerSecond).max() else { return nil }
        return results.filter { $0.imagesPerSecond >= 0.97 * top }.min { $0.workers < $1.workers }
    }

    /// Measures each candidate with `imagesPerWorker` timed images per worker on `engine`'s weights.
    static func measureAll(engine: TextToImage, cores: Int, imagesPerWorker: Int,
                           each: (Measured) -> Void = { _ in }) throws -> [Measured] {
        let blas = try reportingEngineErrors { try BLAS.get() }
        return try candidates(cores: cores).map { workers, threads in
            blas.threads = threads
            let run = try Throughput.measure(engine: engine, workers: workers, imagesPerWorker: imagesPerWorker)
            let m = Measured(workers: workers, blasThreads: threads, precision: engine.precision.rawValue, imagesPerSecond: run.rate)
            each(m)
            return m
        }
    }

    /// What `--workers auto` settled on, and why.
    struct Choice {
        let workers: Int
        let blasThreads: Int
        let measured: [Measured]
        let reason: String
    }

    /// Images slower than this are not tuned at start-up: their products are large enough to keep every core busy
    /// in one worker (mobilediffusion-512: one worker × 2 threads measured fastest), and measuring would take minutes.
    static let autoTuneLimitSeconds = 1.0

    /// The start-up choice for `--workers auto`: one image with every core (the first, so it also pays for page
    /// faults: an upper bound); if it is quick, each split is measured for about half a second (3–20 images per
    /// worker) and the best kept. A large model costs one render here.
    static func chooseAtStartup(engine: TextToImage, cores: Int) throws -> Choice {
        let blas = try reportingEngineErrors { try BLAS.get() }
        blas.threads = cores
        let start = Date()
        _ = try engine.render(RenderRequest(prompt: "a red circle", seed: 0, steps: 1))
        let seconds = Date().timeIntervalSince(start)
        guard cores > 1, seconds <= autoTuneLimitSeconds else {
            return Choice(workers: 1, blasThreads: cores, measured: [],
                          reason: String(format: "one image takes %.2f s with %d threads: one worker uses every core (not measured further)", seconds, cores))
        }
        let images = min(20, max(3, Int((0.5 / seconds).rounded(.up))))
        let results = try measureAll(engine: engine, cores: cores, imagesPerWorker: images)
        let best = best(results)!
        let summary = results.map { String(format: "%dx%d %.1f/s", $0.workers, $0.blasThreads, $0.imagesPerSecond) }.joined(separator: ", ")
        return Choice(workers: best.workers, blasThreads: best.blasThreads, measured: results,
                      reason: "measured \(images) images per worker for each split (workers x threads: \(summary))")
    }
}
