import Engine
import Foundation
import Logging
import Queue
import Wire

/// What request handlers may touch: the store, the workers, the engine's identity and the lifecycle.
final class DaemonContext: @unchecked Sendable {
    let configuration: DaemonConfiguration
    let store: any JobQueue
    let engine: TextToImage
    let wake: WakeSignal
    /// Set while a write waits for disk space (claims paused); shown by status and health.
    let disk: DiskPause
    let log: Logger
    let started = Date()
    var workers: [RenderWorker] = []
    /// This daemon's heartbeat in the nodes table (set once the workers run).
    var nodeReporter: NodeReporter?
    /// The cluster's wake-ups (PostgreSQL queues only).
    var wakeListener: WakeListener?
    /// Set by the shutdown handler; the lifecycle drains (true) or stops now (false).
    let onShutdownRequest: @Sendable (Bool) -> Void
    private let lock = NSLock()
    private var lifecycleValue = "starting"

    init(configuration: DaemonConfiguration, store: any JobQueue, engine: TextToImage, wake: WakeSignal, disk: DiskPause, log: Logger,
         onShutdownRequest: @escaping @Sendable (Bool) -> Void) {
        self.configuration = configuration
        self.store = store
        self.engine = engine
        self.wake = wake
        self.disk = disk
        self.log = log
        self.onShutdownRequest = onShutdownRequest
    }

    var lifecycle: String {
        get { lock.withLock { lifecycleValue } }
        set { lock.withLock { lifecycleValue = newValue } }
    }
}
