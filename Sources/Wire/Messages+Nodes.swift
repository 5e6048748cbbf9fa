/// Request and reply bodies for the cluster's nodes (`workers`) and for `prune`.

/// One daemon of the cluster, from the queue's nodes table (its own row from the answering daemon, live).
public struct NodeInfo: Codable, Sendable, Equatable {
    public var name: String
    public var host: String
    public var pid: Int32
    /// starting, rendering, idle, paused, disk-full, stopping or stopped.
    public var state: String
    public var imagesPerSecond: Double
    public var uptimeSeconds: Double
    /// Seconds since its last heartbeat, by the database's clock.
    public var heartbeatAgeSeconds: Double
    /// No heartbeat for longer than a lease although it did not stop cleanly: crashed, hung or cut off.
    public var lost: Bool
    public var workers: [WorkerInfo]
    public init(name: String, host: String, pid: Int32, state: String, imagesPerSecond: Double, uptimeSeconds: Double,
                heartbeatAgeSeconds: Double, lost: Bool, workers: [WorkerInfo]) {
        self.name = name
        self.host = host
        self.pid = pid
        self.state = state
        self.imagesPerSecond = imagesPerSecond
        self.uptimeSeconds = uptimeSeconds
        self.heartbeatAgeSeconds = heartbeatAgeSeconds
        self.lost = lost
        self.workers = workers
    }
}

/// `prune`: finished jobs of a batch, finished before some time ago, or both.
public struct PruneRequest: Codable, Sendable {
    public var batch: String?
    /// Only jobs finished more than this many seconds ago.
    public var finishedBeforeSeconds: Double?
    /// Count what would be removed, remove nothing.
    public var dryRun: Bool
    public init(batch: String? = nil, finishedBeforeSeconds: Double? = nil, dryRun: Bool = false) {
        self.batch = batch
        self.finishedBeforeSeconds = finishedBeforeSeconds
        self.dryRun = dryRun
    }

    private enum CodingKeys: String, CodingKey { case batch, finishedBeforeSeconds, dryRun }

    /// `dry_run` may be left out (false): a client that prunes need not know the flag.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        batch = try c.decodeIfPresent(String.self, forKey: .batch)
        finishedBeforeSeconds = try c.decodeIfPresent(Double.self, forKey: .finishedBeforeSeconds)
        dryRun = try c.decodeIfPresent(Bool.self, forKey: .dryRun) ?? false
    }
}

public struct PruneReply: Codable, Sendable, Equatable {
    /// Rows removed (or, on a dry run, that would be).
    public var removed: Int
    public var dryRun: Bool
    /// Nodes forgotten because their last heartbeat is older than `finished_before_seconds` (absent without an age).
    public var nodesRemoved: Int?
    public init(removed: Int, dryRun: Bool, nodesRemoved: Int? = nil) {
        self.removed = removed
        self.dryRun = dryRun
        self.nodesRemoved = nodesRemoved
    }
}
