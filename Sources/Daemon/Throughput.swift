import Engine
import Foundation

/// Images per second of `workers` engines rendering distinct seeds at once, as `mdd serve --workers` does (each
/// worker its own engine over one copy of the weights; no embedding cache): `mdd bench --workers` and `mdd tune`
/// measure through this.
enum Throughput {
    struct Run {
        let model: String
        let images: Int
        let seconds: Double
        var rate: Double { Double(images) / seconds }
    }

    /// Loads the model once, then measures as below (the engines share its weights, as the daemon's workers do).
    static func measure(folder: String, source: WeightSource, workers: Int, imagesPerWorker: Int, steps: Int = 1,
                        guidance: Float = 0, width: Int? = nil, height: Int? = nil, precision: Precision = .fp32) throws -> Run {
        let engine = try reportingEngineErrors {
            try TextToImage(folder: folder, source: source, embeddingCacheBytes: 0, precision: precision)
        }
        return try measure(engine: engine, workers: workers, imagesPerWorker: imagesPerWorker, steps: steps,
                           guidance: guidance, width: width, height: height)
    }

    /// One untimed warm-up image per worker, then `imagesPerWorker` each, all workers released together. Each
    /// worker renders on its own engine over `engine`'s weights; prompts are distinct, so no cache hit helps.
    static func measure(engine: TextToImage, workers: Int, imagesPerWorker: Int, steps: Int = 1,
                        guidance: Float = 0, width: Int? = nil, height: Int? = nil) throws -> Run {
        let engines = [engine] + (1..<max(1, workers)).map { _ in TextToImage(sharingWeightsOf: engine) }
        @Sendable func request(_ i: Int) -> RenderRequest {
            RenderRequest(prompt: "a red circle number \(i)", seed: UInt64(i), steps: steps, guidance: guidance, width: width, height: height)
        }
        let failures = ErrorBox()
        let ready = DispatchGroup(), go = DispatchSemaphore(value: 0), done = DispatchGroup()
        for (w, engine) in engines.enumerated() {
            ready.enter(); done.enter()
            Thread {
                do { _ = try engine.render(request(1_000_000 + w)) } catch { failures.set(error) }
                ready.leave()
                go.wait()
                for i in 0..<imagesPerWorker {
                    do { _ = try engine.render(request(w * imagesPerWorker + i)) } catch { failures.set(error) }
                }
                done.leave()
            }.start()
        }
        ready.wait()
        let start = Date()
        for _ in engines { go.signal() }
        done.wait()
        let seconds = Date().timeIntervalSince(start)
        if let e = failures.error { throw CommandFailure(message: "\(e)") }
        return Run(model: engine.modelName, images: engines.count * imagesPerWorker, seconds: seconds)
    }
}

/// The first error raised on any benchmark thread.
final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var error: Error?
    func set(_ e: Error) { lock.withLock { if error == nil { error = e } } }
}
