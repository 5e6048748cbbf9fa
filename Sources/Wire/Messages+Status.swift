/// Request and reply bodies for status, statistics, workers, health and the control verbs.

public struct Counts: Codable, Sendable, Equatable {
    public var pending = 0, running = 0, succeeded = 0, failed = 0, canceled = 0
    public init() {}
    public var total: Int { pending + running + succeeded + failed + canceled }
    public var settled: Int { succeeded + failed + canceled }
}

public struct BatchInfo: Codable, Sendable, Equatable {
    public var name: String
    public var createdAt: Double
    public var paused: Bool
    public var counts: Counts
    public init(name: String, createdAt: Double, paused: Bool, counts: Counts) {
        self.name = name
        self.createdAt = createdAt
        self.paused = paused
        self.counts = counts
    }
}

public struct StatusRequest: Codable, Sendable {
    public var batch: String?
    public init(batch: String? = nil) { self.batch = batch }
}

public struct StatusReply: Codable, Sendable, Equatable {
    public var paused: Bool
    public var counts: Counts
    public var batches: [BatchInfo]
    /// Images per minute over the last minute (or 5 minutes when the last minute had none).
    public var imagesPerMinute: Double
    public var etaSeconds: Double?
    public var model: String
    public var workers: Int
    /// "disk full: PATH" while claims are paused for want of space (they resume by themselves).
    public var diskFull: String?
    public init(paused: Bool, counts: Counts, batches: [BatchInfo], imagesPerMinute: Double, etaSeconds: Double?, model: String, workers: Int,
                diskFull: String? = nil) {
        self.paused = paused
        self.counts = counts
        self.batches = batches
        self.imagesPerMinute = imagesPerMinute
        self.etaSeconds = etaSeconds
        self.model = model
        self.workers = workers
        self.diskFull = diskFull
    }
}

/// Target of cancel and retry: one job, one batch, or everything (`all`).
public struct TargetRequest: Codable, Sendable {
    public var id: Int64?
    public var batch: String?
    public var all: Bool
    /// retry only: also retry canceled jobs.
    public var includeCanceled: Bool
    public init(id: Int64? = nil, batch: String? = nil, all: Bool = false, includeCanceled: Bool = false) {
        self.id = id
        self.batch = batch
        self.all = all
        self.includeCanceled = includeCanceled
    }
}

public struct CountReply: Codable, Sendable, Equatable {
    public var count: Int
    public init(count: Int) { self.count = count }
}

public struct PauseRequest: Codable, Sendable {
    public var batch: String?
    public init(batch: String? = nil) { self.batch = batch }
}

public struct Percentile: Codable, Sendable, Equatable {
    public var p50: Double, p95: Double, p99: Double, mean: Double
    public init(p50: Double, p95: Double, p99: Double, mean: Double) {
        self.p50 = p50
        self.p95 = p95
        self.p99 = p99
        self.mean = mean
    }
}

public struct StatsWindow: Codable, Sendable, Equatable {
    public var window: String
    public var completed: Int
    public var failed: Int
    public var imagesPerMinute: Double
    public var stages: [String: Percentile]
    public init(window: String, completed: Int, failed: Int, imagesPerMinute: Double, stages: [String: Percentile]) {
        self.window = window
        self.completed = completed
        self.failed = failed
        self.imagesPerMinute = imagesPerMinute
        self.stages = stages
    }
}

public struct StatsReply: Codable, Sendable, Equatable {
    public var windows: [StatsWindow]
    public var remaining: Int
    public var etaSeconds: Double?
    public init(windows: [StatsWindow], remaining: Int, etaSeconds: Double?) {
        self.windows = windows
        self.remaining = remaining
        self.etaSeconds = etaSeconds
    }
}

public struct WorkerInfo: Codable, Sendable, Equatable {
    public var id: String
    public var state: String
    public var jobId: Int64?
    public var completed: Int
    public var failed: Int
    public var sinceSeconds: Double
    /// Images per second over the last heartbeat interval (absent from daemons before the nodes table).
    public var imagesPerSecond: Double?
    public init(id: String, state: String, jobId: Int64?, completed: Int, failed: Int, sinceSeconds: Double, imagesPerSecond: Double? = nil) {
        self.id = id
        self.state = state
        self.jobId = jobId
        self.completed = completed
        self.failed = failed
        self.sinceSeconds = sinceSeconds
        self.imagesPerSecond = imagesPerSecond
    }
}

public struct WorkersReply: Codable, Sendable, Equatable {
    /// The answering daemon's own workers.
    public var workers: [WorkerInfo]
    /// Every node of the cluster with its workers (one node on an SQLite queue; absent from older daemons).
    public var nodes: [NodeInfo]?
    public init(workers: [WorkerInfo], nodes: [NodeInfo]? = nil) {
        self.workers = workers
        self.nodes = nodes
    }
}

public struct HealthReply: Codable, Sendable, Equatable {
    public var ok: Bool
    public var version: String
    public var pid: Int32
    public var uptimeSeconds: Double
    public var model: String
    public var modelSha256: String
    public var blas: String
    public var stateDir: String
    public var outputDir: String
    public var peakRssMb: Double
    public var lifecycle: String
    /// "disk full: PATH" while claims are paused for want of space (they resume by themselves).
    public var diskFull: String?
    /// The precision renders use ("fp32" or "bf16"; absent from daemons before 0.2).
    public var precision: String?
    /// What multiplies the matrices, e.g. "oneDNN brg:avx512_core_bf16" or "OpenBLAS Haswell (…)".
    public var products: String?
    /// oneDNN's version and the instruction set its kernels chose ("2.6.3, isa avx512_core_amx, native bf16").
    public var onednn: String?
    /// Wake-ups received by notification from the shared queue (PostgreSQL LISTEN/NOTIFY); absent on SQLite.
    public var notificationWakeups: Int?
    /// Whether the daemon listens for the shared queue's notifications (false: it polls); absent on SQLite.
    public var listening: Bool?
    /// A queue on another host (PostgreSQL): whether the daemon reaches it now; absent for the embedded SQLite queue.
    public var queueReachable: Bool?
    /// A queue on another host: "connected", or how long it has been unreachable, why, and when the next attempt is.
    public var queueConnection: String?
    public init(ok: Bool, version: String, pid: Int32, uptimeSeconds: Double, model: String, modelSha256: String, blas: String,
                stateDir: String, outputDir: String, peakRssMb: Double, lifecycle: String, diskFull: String? = nil,
                precision: String? = nil, products: String? = nil, onednn: String? = nil, notificationWakeups: Int? = nil,
                listening: Bool? = nil, queueReachable: Bool? = nil, queueConnection: String? = nil) {
        self.ok = ok
        self.version = version
        self.pid = pid
        self.uptimeSeconds = uptimeSeconds
        self.model = model
        self.modelSha256 = modelSha256
        self.blas = blas
        self.stateDir = stateDir
        self.outputDir = outputDir
        self.peakRssMb = peakRssMb
        self.lifecycle = lifecycle
        self.diskFull = diskFull
        self.precision = precision
        self.products = products
        self.onednn = onednn
        self.notificationWakeups = notificationWakeups
        self.listening = listening
        self.queueReachable = queueReachable
        self.queueConnection = queueConnection
    }
}

public struct ShutdownRequest: Codable, Sendable {
    /// Finish the running jobs first (true), or release them now.
    public var drain: Bool
    public init(drain: Bool) { self.drain = drain }
}

public struct BackupRequest: Codable, Sendable {
    /// Absolute path of the copy to write (the daemon writes it; it must not exist yet).
    public var path: String
    public init(path: String) { self.path = path }
}

public struct BackupReply: Codable, Sendable, Equatable {
    public var path: String
    public var bytes: Int
    public init(path: String, bytes: Int) {
        self.path = path
        self.bytes = bytes
    }
}
