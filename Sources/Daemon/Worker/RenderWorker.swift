import Engine
import Foundation
import Logging
import Queue

/// One render worker on its own thread (never Swift's cooperative pool): claim → render → write PNG →
/// complete (and claim the next in the same transaction), renewing the lease while it renders.
final class RenderWorker: @unchecked Sendable {
    /// What the worker is doing, for `mdctl workers`.
    struct Snapshot {
        var state: String
        var jobId: Int64?
        var completed: Int
        var failed: Int
        var since: Date
    }

    let id: String
    private let store: JobStore
    private let engine: TextToImage
    private let output: OutputStore
    private let log: Logger
    private let wake: WakeSignal
    private let lock = NSLock()
    private var snapshotValue: Snapshot
    private var stopRequested = false
    private var current: Lease?
    private let finished = DispatchSemaphore(value: 0)

    init(id: String, store: JobStore, engine: TextToImage, output: OutputStore, wake: WakeSignal, log: Logger) {
        self.id = id
        self.store = store
        self.engine = engine
        self.output = output
        self.wake = wake
        self.log = log
        snapshotValue = Snapshot(state: "starting", jobId: nil, completed: 0, failed: 0, since: Date())
    }

    var snapshot: Snapshot { lock.withLock { snapshotValue } }

    func start() {
        let t = Thread { [self] in run(); finished.signal() }
        t.name = "mdd-\(id)"
        t.stackSize = 8 << 20
        t.start()
    }

    /// Asks the worker to stop claiming; the job in hand is finished unless `release` is called.
    func requestStop() {
        lock.withLock { stopRequested = true }
        wake.signal()
    }

    /// Waits until the worker's thread has exited, up to `timeout` seconds.
    func waitUntilFinished(timeout: Double) -> Bool { finished.wait(timeout: .now() + timeout) == .success }

    /// Returns the job in hand to pending without spending its attempt (forced stop); the render is abandoned.
    func releaseCurrent() {
        lock.withLock {
            if let l = current { try? store.release(l); current = nil }
            stopRequested = true
        }
    }

    private var shouldStop: Bool { lock.withLock { stopRequested } }

    private func setState(_ s: String, job: Int64? = nil) {
        lock.withLock { snapshotValue.state = s; snapshotValue.jobId = job; snapshotValue.since = Date() }
    }

    private func run() {
        var lease: Lease?
        while !shouldStop {
            do {
                if lease == nil { lease = try store.claim(worker: id) }
                guard let l = lease else {
                    setState("idle")
                    wake.wait(timeout: 1)
                    continue
                }
                lease = try process(l)
            } catch {
                log.error("worker \(id): queue error: \(error)")
                lease = nil
                wake.wait(timeout: 1)
            }
        }
        setState("stopped")
    }

    /// Renders and settles one job; returns the next lease when it could claim one in the same transaction.
    private func process(_ l: Lease) throws -> Lease? {
        lock.withLock { current = l }
        setState("rendering", job: l.job.id)
        let heartbeat = Heartbeat(store: store, lease: l, every: store.options.leaseSeconds / 3)
        defer { heartbeat.stop() }
        let result: Result<JobOutput, Error> = Result { try render(l.job) }
        heartbeat.stop()
        let stillMine = lock.withLock { () -> Bool in
            defer { current = nil }
            return current != nil
        }
        guard stillMine else { return nil }  // released by a forced stop
        switch result {
        case .success(let out):
            lock.withLock { snapshotValue.completed += 1 }
            log.info("job \(l.job.id) done", metadata: ["batch": "\(l.job.batch)", "seed": "\(l.job.seed)", "total_ms": "\(Int(out.timings.totalMs))"])
            do {
                // While draining, settle this job without claiming another.
                if shouldStop {
                    try store.complete(l, output: out)
                    return nil
                }
                return try store.complete(l, output: out, thenClaimFor: id)
            } catch QueueError.staleLease {
                log.warning("job \(l.job.id): lease lost before completion (canceled or expired); result discarded")
                return nil
            }
        case .failure(let error):
            lock.withLock { snapshotValue.failed += 1 }
            let retryable = !(error is EngineError)  // bad requests fail at once; I/O trouble (disk full) retries
            let state = try? store.fail(l, error: "\(error)", retryable: retryable)
            log.error("job \(l.job.id) failed: \(error)", metadata: ["next_state": "\(state.map { $0.rawValue } ?? "stale")"])
            return nil
        }
    }

    private func render(_ job: Job) throws -> JobOutput {
        let request = RenderRequest(prompt: job.prompt, negativePrompt: job.negativePrompt, seed: UInt64(job.seed), steps: job.steps,
                                    guidance: Float(job.guidance), width: job.width, height: job.height)
        let (width, height) = try engine.validate(request)
        if let bytes = output.reusable(for: job, modelSHA256: engine.weightsSHA256, width: width, height: height) {
            log.info("job \(job.id): reusing output written before a crash")
            let p = output.path(for: job)
            return JobOutput(path: p, sha256: SHA256.hex(bytes), timings: JobTimings(textMs: 0, unetMs: 0, decodeMs: 0, pngMs: 0, totalMs: 0))
        }
        let image = try engine.render(request)
        let start = Date()
        let (path, sha) = try output.write(image.png, for: job)
        let t = image.timings
        let writeMs = Date().timeIntervalSince(start) * 1000
        return JobOutput(path: path, sha256: sha, timings: JobTimings(
            textMs: t.tokenizeMs + t.textEncoderMs, unetMs: t.unetMs, decodeMs: t.decodeMs, pngMs: t.pngMs + writeMs,
            totalMs: t.totalMs + writeMs))
    }
}

/// Renews a lease on a timer thread while a render runs.
final class Heartbeat: @unchecked Sendable {
    private let timer: DispatchSourceTimer

    init(store: JobStore, lease: Lease, every seconds: Double) {
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "mdd.heartbeat"))
        timer.schedule(deadline: .now() + seconds, repeating: seconds)
        timer.setEventHandler { try? store.heartbeat(lease) }
        timer.resume()
    }

    func stop() { timer.cancel() }
}

/// Wakes idle workers when work may have arrived (submit, resume, retry).
final class WakeSignal: @unchecked Sendable {
    private let condition = NSCondition()
    private var generation = 0

    func signal() {
        condition.lock()
        generation += 1
        condition.broadcast()
        condition.unlock()
    }

    func wait(timeout: Double) {
        condition.lock()
        let start = generation
        let deadline = Date().addingTimeInterval(timeout)
        while generation == start && condition.wait(until: deadline) {}
        condition.unlock()
    }
}
