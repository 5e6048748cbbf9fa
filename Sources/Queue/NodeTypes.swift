/// What the nodes table holds: each daemon reports itself (`JobQueue.report(node:)`) every few seconds, and any
/// daemon lists every node (`JobQueue.nodes()`), so `mdctl workers` through any socket shows the whole cluster.
/// Times are stored in the database's clock; a node only sends durations (uptime, seconds in a state), so no host
/// clock decides whether a node is lost.

/// One daemon's heartbeat: identity, state and workers, as it sees them now.
public struct NodeReport: Sendable, Equatable {
    /// The `--node` name, unique in the cluster (the key: a restarted daemon replaces its earlier row).
    public var name: String
    public var host: String
    public var pid: Int32
    /// Seconds since the daemon started; the store turns it into a start time on the database clock.
    public var uptimeSeconds: Double
    /// `NodeState`'s raw value.
    public var state: String
    /// Images per second over the last heartbeat interval, all workers together.
    public var imagesPerSecond: Double
    public var workers: [WorkerReport]

    public init(name: String, host: String, pid: Int32, uptimeSeconds: Double, state: String, imagesPerSecond: Double,
                workers: [WorkerReport]) {
        self.name = name
        self.host = host
        self.pid = pid
        self.uptimeSeconds = uptimeSeconds
        self.state = state
        self.imagesPerSecond = imagesPerSecond
        self.workers = workers
    }
}

/// What a node says it is doing; `stopped` is written by a daemon going away cleanly.
public enum NodeState: String, Sendable, CaseIterable {
    case starting, rendering, idle, paused, diskFull = "disk-full", stopping, stopped
}

/// One render worker of a node.
public struct WorkerReport: Sendable, Equatable {
    public var id: String
    public var state: String
    public var jobId: Int64?
    public var completed: Int
    public var failed: Int
    public var imagesPerSecond: Double
    /// Seconds in the current state.
    public var sinceSeconds: Double

    public init(id: String, state: String, jobId: Int64?, completed: Int, failed: Int, imagesPerSecond: Double, sinceSeconds: Double) {
        self.id = id
        self.state = state
        self.jobId = jobId
        self.completed = completed
        self.failed = failed
        self.imagesPerSecond = imagesPerSecond
        self.sinceSeconds = sinceSeconds
    }
}

/// A node as stored: its last report, and how old that report is by the database's clock.
public struct NodeRecord: Sendable, Equatable {
    public var report: NodeReport
    /// Start time, epoch seconds on the database clock.
    public var startedAt: Double
    /// Seconds since the last heartbeat, on the database clock.
    public var heartbeatAgeSeconds: Double

    public init(report: NodeReport, startedAt: Double, heartbeatAgeSeconds: Double) {
        self.report = report
        self.startedAt = startedAt
        self.heartbeatAgeSeconds = heartbeatAgeSeconds
    }

    /// A node is lost when it did not stop cleanly and its heartbeat is older than `after` seconds (it crashed,
    /// hangs, or cannot reach the database; its jobs come back when their leases expire).
    public func isLost(after seconds: Double) -> Bool {
        report.state != NodeState.stopped.rawValue && heartbeatAgeSeconds > seconds
    }
}

/// Which finished jobs `prune` deletes: those of one batch, those finished before a moment, or both (AND).
/// Pending and running jobs are never pruned.
public struct PruneFilter: Sendable, Equatable {
    public var batch: String?
    /// Only jobs finished more than this many seconds ago (database clock).
    public var finishedBeforeSecondsAgo: Double?

    public init(batch: String? = nil, finishedBeforeSecondsAgo: Double? = nil) {
        self.batch = batch
        self.finishedBeforeSecondsAgo = finishedBeforeSecondsAgo
    }
}
