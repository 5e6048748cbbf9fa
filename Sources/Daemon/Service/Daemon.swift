import Engine
import Foundation
import Logging
import Queue
import Wire

/// The long-running service: opens the queue, recovers, loads the model, serves the control socket, runs the
/// workers, and turns SIGTERM/SIGINT into a graceful drain (a second signal stops at once, releasing jobs).
final class Daemon: @unchecked Sendable {
    private enum Event { case signal(Int32), shutdown(drain: Bool) }

    private let configuration: DaemonConfiguration
    private let log: Logger
    private let notifier = SystemdNotifier()
    private let events = EventChannel<Event>()
    private var signalSources: [DispatchSourceSignal] = []

    init(configuration: DaemonConfiguration, log: Logger) {
        self.configuration = configuration
        self.log = log
    }

    /// Runs until shut down; returns the process exit status.
    func run() throws -> Int32 {
        var c = configuration
        try FileManager.default.createDirectory(atPath: c.stateDir, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: c.outputDir, withIntermediateDirectories: true)
        installSignalHandlers()
        let http = try Self.httpSettings(c)  // refused before the model loads: a bad setting fails fast
        var options = QueueOptions()
        options.leaseSeconds = c.leaseSeconds
        options.statementTimeoutSeconds = c.queueStatementTimeout
        let store = try QueueSetting.parse(c.queue, stateDir: c.stateDir).open(options: options, passfile: c.queuePassfile)
        logConnectivityChanges(of: store)
        try recover(store)
        log.info("loading model", metadata: ["path": "\(c.modelPath)", "workers": "\(c.autoWorkers ? "auto" : String(c.workers))"])
        // One engine per worker: an engine renders one image at a time, and its non-GEMM work runs on the calling
        // thread, so two workers keep two cores busy on small models. The model is loaded once: the other workers'
        // engines share its weights and its text-embedding cache (a prompt encoded by one worker is a hit for all).
        let engine = try PrecisionChoice.load(folder: c.modelPath, setting: c.precision, stateDir: c.stateDir, log: log)
        engine.pngCompression = c.pngCompression
        if c.autoWorkers {
            let choice = try WorkerSplit.chooseAtStartup(engine: engine, cores: ProcessInfo.processInfo.activeProcessorCount)
            c.workers = choice.workers
            c.blasThreads = choice.blasThreads
            log.info("workers auto: \(choice.workers) x \(choice.blasThreads) BLAS threads", metadata: ["why": "\(choice.reason)"])
        }
        let engines = [engine] + (1..<c.workers).map { _ in TextToImage(sharingWeightsOf: engine) }
        let blas = try BLAS.get()
        if let t = c.blasThreads { blas.threads = t }
        log.info("model ready", metadata: ["model": "\(engine.modelName)", "sha256": "\(engine.weightsSHA256.prefix(16))",
                                           "blas": "OpenBLAS \(blas.coreName) (\(blas.coreSource)), \(blas.threads) threads per GEMM",
                                           "precision": "\(engine.precision.rawValue)",
                                           "products": "\(EngineBackend.describe(precision: engine.precision, blas: blas))",
                                           "onednn": "\(EngineBackend.onednnSummary)",
                                           "workers": "\(c.workers)"])
        let wake = WakeSignal()
        let disk = DiskPause(log: log, wake: wake)
        let context = DaemonContext(configuration: c, store: store, engine: engine, wake: wake, disk: disk, log: log) { [events] drain in
            events.send(.shutdown(drain: drain))
        }
        let output = OutputStore(root: c.outputDir)
        context.workers = (0..<c.workers).map { i in
            RenderWorker(id: "\(c.node):\(getpid()):w\(i)", store: store, engine: engines[i], output: output, wake: wake, disk: disk, log: log)
        }
        // Set before the control server starts: its handlers read it from their own threads.
        let reporter = NodeReporter(context: context)
        context.nodeReporter = reporter
        context.wakeListener = try store.wakeSource().map { WakeListener(source: $0, wake: wake, log: log) }
        let server = ControlServer(path: c.socketPath, router: RequestRouter(context: context),
                                   access: PeerAccess(extraUIDs: c.allowedUIDs, extraGIDs: c.allowedGIDs), log: log)
        let httpListener = try startHTTP(http, context: context)
        try server.start()
        context.workers.forEach { $0.start() }
        context.lifecycle = "running"
        reporter.start()
        context.wakeListener?.start()
        notifier.notify("READY=1\nSTATUS=ready")
        log.info("mdd ready", metadata: ["state_dir": "\(c.stateDir)", "socket": "\(c.socketPath)", "workers": "\(c.workers)"])
        let status = superviseUntilShutdown(context, store: store)
        context.wakeListener?.stop()
        reporter.stop()  // after the drain: the row says stopped, so the others do not show this node as lost
        server.stop()
        httpListener?.stop()
        closeQueue(store)
        log.info("mdd stopped")
        return status
    }

    /// Checkpoints and closes the database so that the `.sqlite` file alone is a complete backup (the process
    /// ends with `_exit`, which runs no deinit). A worker still abandoning a released render gets `closed` errors.
    private func closeQueue(_ store: any JobQueue) {
        do {
            try store.close()
            log.info("queue checkpointed and closed", metadata: ["path": "\(store.location)"])
        } catch {
            log.error("closing the queue: \(error); the -wal file beside the database holds what the checkpoint missed")
        }
    }

    /// Logs once when a queue on another host is lost and once when it is back (not at every redial: the store's
    /// backoff paces those, and `mdctl health` shows the current state).
    private func logConnectivityChanges(of store: any JobQueue) {
        guard let remote = store as? any RemoteQueue else { return }
        remote.onConnectivityChange { [log] s in
            if s.reachable {
                log.notice("queue database reachable again; claims resume", metadata: ["queue": "\(store.location)"])
            } else {
                log.warning("queue database unreachable: no new claims; finished renders are kept until they can be recorded",
                            metadata: ["queue": "\(store.location)", "reason": "\(s.reason ?? "")"])
            }
        }
    }

    /// Start-up recovery: leases of this host's dead daemon processes now, expired leases of anyone.
    private func recover(_ store: any JobQueue) throws {
        let host = configuration.node
        let dead = try store.recoverLeases { worker in
            let parts = worker.split(separator: ":")
            guard parts.count == 3, parts[0] == host, let pid = Int32(parts[1]) else { return false }
            return pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH
        }
        let expired = try store.recoverExpiredLeases()
        if dead.rescued + dead.poisoned + expired.rescued + expired.poisoned > 0 {
            log.warning("recovered interrupted jobs", metadata: ["rescued": "\(dead.rescued + expired.rescued)", "poisoned": "\(dead.poisoned + expired.poisoned)"])
        }
    }

    /// The work loop of the main thread: status, watchdog and periodic recovery until a stop is asked for.
    private func superviseUntilShutdown(_ context: DaemonContext, store: any JobQueue) -> Int32 {
        let tick = min(5.0, (notifier.watchdogInterval ?? 10) / 2)
        var lastRecovery = Date()
        while true {
            if let event = events.receive(timeout: tick) {
                switch event {
                case .signal(let s): log.info("received signal \(s): draining")
                case .shutdown(let drain): log.info("shutdown requested", metadata: ["drain": "\(drain)"])
                }
                if case .shutdown(drain: false) = event { return stopNow(context) }
                return drain(context)
            }
            notifier.notify("WATCHDOG=1")
            if let s = try? store.status() {  // best effort: systemd's status line only
                let paused = context.disk.status.map { "; claims paused, \($0)" } ?? ""
                notifier.notify("STATUS=\(s.counts.pending) pending, \(s.counts.running) running, \(s.counts.succeeded) done, \(s.counts.failed) failed\(paused)")
            }
            // A full queue disk refuses lease renewals too, so the leases this daemon's workers hold through a pause
            // may expire; taking those jobs back would render them twice and count rescues towards poison. Recovery
            // waits while paused and for one period after, by which time the heartbeats (retrying every second on
            // a full disk, see Heartbeat) have renewed them.
            if context.disk.isPaused {
                lastRecovery = Date()
            } else if Date().timeIntervalSince(lastRecovery) > configuration.leaseSeconds / 2 {
                recoverExpired(store)
                lastRecovery = Date()
            }
        }
    }

    /// Periodic recovery: leases that expired (their worker hung or died) go back to pending, or fail as poison.
    private func recoverExpired(_ store: any JobQueue) {
        do {
            let r = try store.recoverExpiredLeases()
            if r.rescued + r.poisoned > 0 { log.warning("recovered expired leases", metadata: ["rescued": "\(r.rescued)", "poisoned": "\(r.poisoned)"]) }
        } catch {
            log.error("periodic recovery of expired leases failed: \(error); retrying in \(Int(configuration.leaseSeconds / 2)) s")
        }
    }

    /// Graceful stop: no new claims; running jobs finish within the drain timeout, else they are released.
    private func drain(_ context: DaemonContext) -> Int32 {
        context.lifecycle = "stopping"
        notifier.notify("STOPPING=1\nSTATUS=draining")
        context.workers.forEach { $0.requestStop() }
        let deadline = Date().addingTimeInterval(configuration.drainTimeoutSeconds)
        for w in context.workers {
            while !w.waitUntilFinished(timeout: 0.2) {
                if Date() >= deadline {
                    log.warning("drain timeout: releasing unfinished jobs")
                    return stopNow(context)
                }
                if let e = events.receive(timeout: 0), case .signal = e {
                    log.warning("second signal: releasing running jobs and stopping now")
                    return stopNow(context)
                }
            }
        }
        return 0
    }

    private func stopNow(_ context: DaemonContext) -> Int32 {
        context.lifecycle = "stopping"
        notifier.notify("STOPPING=1")
        context.workers.forEach { $0.releaseCurrent() }
        return 0
    }

    private func installSignalHandlers() {
        for s in [SIGTERM, SIGINT] {
            signal(s, SIG_IGN)
            let src = DispatchSource.makeSignalSource(signal: s, queue: .global())
            src.setEventHandler { [events] in events.send(.signal(s)) }
            src.resume()
            signalSources.append(src)
        }
    }

    static func hostname() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        gethostname(&buf, 255)
        return String(cString: buf).replacingOccurrences(of: ":", with: "_")
    }
}

/// A small blocking queue of events for the main thread.
final class EventChannel<T>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [T] = []

    func send(_ item: T) {
        condition.lock()
        items.append(item)
        condition.signal()
        condition.unlock()
    }

    func receive(timeout: Double) -> T? {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date().addingTimeInterval(timeout)
        while items.isEmpty { if !condition.wait(until: deadline) { break } }
        return items.isEmpty ? nil : items.removeFirst()
    }
}
