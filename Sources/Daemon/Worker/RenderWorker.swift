import Engine
import Foundation
import Logging
import Queue

/// One render worker on its own thread (never Swift's cooperative pool): claim → render → hand the PNG to its
/// settle thread (write atomically, complete) → claim the next, so writing and committing job N overlaps rendering
/// job N + 1. The lease is renewed from claim until the job is settled.
final class RenderWorker: @unchecked Sendable {
    /// What the worker is doing, for `mdctl workers`.
    struct Snapshot {
        var state: String
        var jobId: Int64?
        var completed: Int
        var failed: Int
        var since: Date
    }

    /// A render ready to be settled: either fresh PNG bytes to write, or a file a crash left that is reused.
    enum Rendered {
        case fresh(png: [UInt8], timings: JobTimings, width: Int, height: Int)
        case reused(JobOutput)
    }

    let id: String
    let store: any JobQueue
    private let engine: TextToImage
    private let output: OutputStore
    let log: Logger
    let wake: WakeSignal
    let disk: DiskPause
    let lock = NSLock()
    var snapshotValue: Snapshot
    private var stopRequested = false
    /// The job being rendered (not yet handed to the settle thread).
    private var current: InFlight?
    /// The heartbeat of the job on the settle thread (rendered; its PNG and completion may wait for disk space).
    private var settling: Heartbeat?
    private let finished = DispatchSemaphore(value: 0)

    init(id: String, store: any JobQueue, engine: TextToImage, output: OutputStore, wake: WakeSignal, disk: DiskPause, log: Logger) {
        self.id = id
        self.disk = disk
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

    /// Returns the job being rendered to pending without spending its attempt (forced stop); the render is
    /// stopped at its next check. A job already rendered and settling is left to finish (milliseconds) or to recovery.
    func releaseCurrent() {
        lock.withLock {
            if let c = current {
                do { try store.release(c.lease) } catch {
                    log.error("job \(c.lease.job.id): cannot release it on a forced stop: \(error); recovery takes it back when its lease expires")
                }
                c.cancellation.cancel(reason: "the daemon stops now; the job was returned to pending")
                current = nil
            }
            stopRequested = true
        }
    }

    /// Renews the lease of the job being rendered now rather than at the next beat; a canceled job's render then
    /// stops within one UNet block. The cancel handler calls it (it cannot know which worker holds which job).
    func checkLease() {
        let held = lock.withLock { [current?.heartbeat, settling] }
        held.forEach { $0?.beatSoon() }
    }

    var shouldStop: Bool { lock.withLock { stopRequested } }

    func setState(_ s: String, job: Int64? = nil) {
        lock.withLock { snapshotValue.state = s; snapshotValue.jobId = job; snapshotValue.since = Date() }
    }

    private func run() {
        let settler = SettleThread(name: "mdd-\(id)-settle")
        while !shouldStop {
            do {
                if let full = disk.status {  // claim nothing while a write waits for space (whoever waits retries)
                    setState("paused (\(full))")
                    wake.wait(timeout: 1)
                    continue
                }
                guard let claimed = try disk.retrying(store.location, until: { shouldStop }, { try store.claim(worker: id) }),
                      let lease = claimed else {
                    if shouldStop { break }
                    settler.waitIdle()  // an idle worker has nothing in flight (tests and `mdctl workers` rely on it)
                    setState("idle")
                    wake.waitIdle()
                    continue
                }
                process(lease, settler: settler)
            } catch let e as QueueError where e.isConnectionLost {
                // No claims while the database is out of reach: the store fails calls at once between its paced
                // redials, and logs the outage once; `mdctl health` shows it.
                setState("waiting for the queue database")
                wake.wait(timeout: 1)
            } catch {
                log.error("worker \(id): queue error: \(error)")
                wake.wait(timeout: 1)
            }
        }
        settler.finish()  // a draining worker settles the job it rendered last
        setState("stopped")
    }

    /// Renders one job and hands it to the settle thread (which waits for the previous job's settle first).
    private func process(_ l: Lease, settler: SettleThread) {
        let cancellation = RenderCancellation()
        // A lost lease (canceled, or expired and taken back) stops the render at its next check: the result could
        // be neither written nor settled, and the worker's time belongs to the next job.
        let heartbeat = Heartbeat(store: store, lease: l, every: store.options.leaseSeconds / 3, log: log) {
            cancellation.cancel(reason: "the job's lease was lost (canceled, or expired and taken back)")
        }
        lock.withLock { current = InFlight(lease: l, heartbeat: heartbeat, cancellation: cancellation) }
        setState("rendering", job: l.job.id)
        let result: Result<Rendered, Error> = Result { try render(l.job, cancellation) }
        let stillMine = lock.withLock { () -> Bool in
            defer { current = nil }
            return current != nil
        }
        guard stillMine else { heartbeat.stop(); return }  // released by a forced stop
        guard !heartbeat.lost else {
            heartbeat.stop()
            var how = "finished"
            if case .failure(EngineError.canceled(_, let stage)) = result { how = "stopped at \(stage)" }
            log.warning("job \(l.job.id): render \(how) and discarded, its lease was lost while rendering (canceled or expired)")
            return
        }
        switch result {
        case .success(let rendered):
            settler.submit { [self] in
                lock.withLock { settling = heartbeat }
                settle(l, rendered, heartbeat)
                heartbeat.stop()
                lock.withLock { settling = nil }
            }
        case .failure(let error):
            let retryable = !(error is EngineError || error is InvalidJob)  // bad requests fail at once; I/O trouble retries
            KillPoint.reached("render-failed")
            recordFailure(l, error: error, retryable: retryable, heartbeat)
            heartbeat.stop()  // after the failure is recorded: a full queue disk may hold it, and the lease with it
        }
    }

    /// Writes the PNG (temp file, fsync, rename, fsync directory) and completes the job; on the settle thread.
    /// A full disk (outputs or queue) pauses here, lease renewed by `heartbeat`, until a retry succeeds, the worker
    /// stops (the job is handed back) or the lease is lost (the job was canceled meanwhile: nothing to write).
    private func settle(_ l: Lease, _ rendered: Rendered, _ heartbeat: Heartbeat) {
        let giveUp = { [self] in shouldStop || heartbeat.lost }
        let out: JobOutput
        switch rendered {
        case .reused(let o):
            out = o
        case .fresh(let png, let t, let width, let height):
            KillPoint.reached("rendered")
            do {
                guard let written = try disk.retrying(output.root, until: giveUp, { try write(png, t, width, height, for: l.job) }) else {
                    return handBack(l, "stopping while the outputs' disk is full", heartbeat)
                }
                out = written
            } catch {
                recordFailure(l, error: error, retryable: true, heartbeat)  // permissions, I/O errors: retried with backoff
                return
            }
        }
        // Counted before the commit, so that whoever sees the job succeeded in the queue also sees it counted.
        lock.withLock { snapshotValue.completed += 1 }
        do {
            guard try record(l, out, until: giveUp) else {
                lock.withLock { snapshotValue.completed -= 1 }
                return handBack(l, "stopping while the queue's disk is full (its PNG is written and will be reused)", heartbeat)
            }
            DaemonMetrics.shared.jobSucceeded(l.job, timings: out.timings)
            log.info("job \(l.job.id) done", metadata: ["batch": "\(l.job.batch)", "seed": "\(l.job.seed)", "total_ms": "\(Int(out.timings.totalMs))"])
        } catch QueueError.staleLease {
            lock.withLock { snapshotValue.completed -= 1 }
            log.warning("job \(l.job.id): lease lost before completion (canceled or expired); result discarded")
        } catch {
            lock.withLock { snapshotValue.completed -= 1 }
            log.error("job \(l.job.id): cannot record completion: \(error); its lease will expire and recovery will reuse the PNG")
        }
    }

    /// The writer's tag in temp file names: the node, without pid or worker slot, so that whichever worker of a
    /// restarted daemon writes the job next reuses (and so removes) the temp file a kill left, while two nodes never
    /// share one. (Two workers of one node never hold one job: a job has one live lease.)
    private var tempTag: String {
        String(id.split(separator: ":").first ?? "node")
    }

    /// Writes the PNG durably, or adopts a valid render of the job found at its path (see `OutputStore`); the PNG
    /// stage's time includes the write (not the time spent waiting for space).
    private func write(_ png: [UInt8], _ t: JobTimings, _ width: Int, _ height: Int, for job: Job) throws -> JobOutput {
        let start = Date()
        let published = try output.publish(png, for: job, tag: tempTag) {
            output.anyRender(of: job, width: width, height: height)
        }
        let path: String, sha: String
        switch published {
        case let .written(p, s):
            (path, sha) = (p, s)
            log.debug("job \(job.id): wrote \(path)")  // the crash tests count these: no job's PNG is written twice
        case let .adopted(p, s):
            (path, sha) = (p, s)
            log.warning("job \(job.id): a render of this job was already at \(path) (an earlier attempt's); kept it, discarded ours")
        case let .replaced(p, s, reason):
            (path, sha) = (p, s)
            log.warning("job \(job.id): wrote \(path), replacing a file there that is not a render of this job (\(reason))")
        }
        let writeMs = Date().timeIntervalSince(start) * 1000
        KillPoint.reached("png-renamed")
        return JobOutput(path: path, sha256: sha, timings: JobTimings(
            textMs: t.textMs, unetMs: t.unetMs, decodeMs: t.decodeMs, pngMs: t.pngMs + writeMs, totalMs: t.totalMs + writeMs))
    }

    /// Returns a job to pending without spending its attempt (the worker stops before it could be settled), unless
    /// its lease was lost while waiting (canceled: there is nothing to hand back).
    private func handBack(_ l: Lease, _ why: String, _ heartbeat: Heartbeat) {
        guard !heartbeat.lost else {
            return log.warning("job \(l.job.id): its lease was lost while waiting for disk space (canceled or expired); result discarded")
        }
        do {
            try store.release(l)
            log.warning("job \(l.job.id): \(why); returned to pending, attempt not spent")
        } catch {
            log.error("job \(l.job.id): \(why); cannot return it to pending: \(error); recovery takes it back when its lease expires")
        }
    }

    /// Renders the job's PNG in memory (or finds the file a crash left for this very job).
    private func render(_ job: Job, _ cancellation: RenderCancellation) throws -> Rendered {
        // The queue refuses negative seeds, but a row is data, not a promise: a bad one fails its job, never the daemon.
        guard let seed = UInt64(exactly: job.seed) else { throw InvalidJob(id: job.id, reason: "seed \(job.seed) is negative") }
        let request = RenderRequest(prompt: job.prompt, negativePrompt: job.negativePrompt, seed: seed, steps: job.steps,
                                    guidance: Float(job.guidance), width: job.width, height: job.height)
        let (width, height) = try engine.validate(request)
        if let bytes = output.reusable(for: job, engine: engine, width: width, height: height) {
            log.info("job \(job.id): reusing output written before a crash")
            output.removeLeftoverTemp(for: job, tag: tempTag)
            return .reused(JobOutput(path: output.path(for: job), sha256: SHA256.hex(bytes),
                                     timings: JobTimings(textMs: 0, unetMs: 0, decodeMs: 0, pngMs: 0, totalMs: 0)))
        }
        let image = try engine.render(request, cancellation: cancellation)
        let t = image.timings
        return .fresh(png: image.png, timings: JobTimings(textMs: t.tokenizeMs + t.textEncoderMs, unetMs: t.unetMs,
                                                          decodeMs: t.decodeMs, pngMs: t.pngMs, totalMs: t.totalMs),
                      width: width, height: height)
    }
}

/// The job a worker is rendering: its lease, the heartbeat renewing it and the handle that stops its render.
private struct InFlight {
    let lease: Lease
    let heartbeat: Heartbeat
    let cancellation: RenderCancellation
}

/// A job row the worker cannot render as stored (it fails at once, without retries).
struct InvalidJob: Error, CustomStringConvertible {
    let id: Int64
    let reason: String
    var description: String { "job \(id) cannot be rendered: \(reason)" }
}
