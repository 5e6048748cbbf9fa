/// Request and reply bodies, one pair per request kind. Field names go over the wire in snake_case.

/// One job to submit; unset fields take the batch's values.
public struct WireJob: Codable, Sendable, Equatable {
    public var prompt: String
    public var negativePrompt: String?
    public var seed: Int64?
    public var width: Int?
    public var height: Int?
    public var steps: Int?
    public var guidance: Double?
    public var priority: Int?
    public var key: String?
    public init(prompt: String, negativePrompt: String? = nil, seed: Int64? = nil, width: Int? = nil, height: Int? = nil,
                steps: Int? = nil, guidance: Double? = nil, priority: Int? = nil, key: String? = nil) {
        self.prompt = prompt
        self.negativePrompt = negativePrompt
        self.seed = seed
        self.width = width
        self.height = height
        self.steps = steps
        self.guidance = guidance
        self.priority = priority
        self.key = key
    }
}

public struct SubmitRequest: Codable, Sendable {
    public var batch: String
    public var baseSeed: Int64?
    public var steps: Int
    public var guidance: Double
    public var width: Int?
    public var height: Int?
    public var priority: Int
    public var maxAttempts: Int
    /// Index of `jobs[0]` in the whole submission: keys ("line:N") and base-seed offsets continue across chunks.
    public var startIndex: Int
    public var jobs: [WireJob]
    public init(batch: String, baseSeed: Int64?, steps: Int, guidance: Double, width: Int?, height: Int?, priority: Int,
                maxAttempts: Int, startIndex: Int, jobs: [WireJob]) {
        self.batch = batch
        self.baseSeed = baseSeed
        self.steps = steps
        self.guidance = guidance
        self.width = width
        self.height = height
        self.priority = priority
        self.maxAttempts = maxAttempts
        self.startIndex = startIndex
        self.jobs = jobs
    }
}

public struct SubmitReply: Codable, Sendable, Equatable {
    public var requested: Int
    public var enqueued: Int
    public var duplicates: Int
    public init(requested: Int, enqueued: Int, duplicates: Int) {
        self.requested = requested
        self.enqueued = enqueued
        self.duplicates = duplicates
    }
}

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
    public init(paused: Bool, counts: Counts, batches: [BatchInfo], imagesPerMinute: Double, etaSeconds: Double?, model: String, workers: Int) {
        self.paused = paused
        self.counts = counts
        self.batches = batches
        self.imagesPerMinute = imagesPerMinute
        self.etaSeconds = etaSeconds
        self.model = model
        self.workers = workers
    }
}

/// Per-stage milliseconds of one job.
public struct WireTimings: Codable, Sendable, Equatable {
    public var queueWaitMs: Double?
    public var textMs: Double?, unetMs: Double?, decodeMs: Double?, pngMs: Double?, totalMs: Double?
    public init(queueWaitMs: Double?, textMs: Double?, unetMs: Double?, decodeMs: Double?, pngMs: Double?, totalMs: Double?) {
        self.queueWaitMs = queueWaitMs
        self.textMs = textMs
        self.unetMs = unetMs
        self.decodeMs = decodeMs
        self.pngMs = pngMs
        self.totalMs = totalMs
    }
}

/// One job as reported to clients (ls, show, export).
public struct JobInfo: Codable, Sendable, Equatable {
    public var id: Int64
    public var batch: String
    public var key: String
    public var prompt: String
    public var negativePrompt: String?
    public var seed: Int64
    public var width: Int?
    public var height: Int?
    public var steps: Int
    public var guidance: Double
    public var priority: Int
    public var state: String
    public var attempts: Int
    public var maxAttempts: Int
    public var workerId: String?
    public var createdAt: Double
    public var claimedAt: Double?
    public var finishedAt: Double?
    public var error: String?
    public var path: String?
    public var sha256: String?
    public var timings: WireTimings
    public init(id: Int64, batch: String, key: String, prompt: String, negativePrompt: String?, seed: Int64, width: Int?, height: Int?,
                steps: Int, guidance: Double, priority: Int, state: String, attempts: Int, maxAttempts: Int, workerId: String?,
                createdAt: Double, claimedAt: Double?, finishedAt: Double?, error: String?, path: String?, sha256: String?, timings: WireTimings) {
        self.id = id
        self.batch = batch
        self.key = key
        self.prompt = prompt
        self.negativePrompt = negativePrompt
        self.seed = seed
        self.width = width
        self.height = height
        self.steps = steps
        self.guidance = guidance
        self.priority = priority
        self.state = state
        self.attempts = attempts
        self.maxAttempts = maxAttempts
        self.workerId = workerId
        self.createdAt = createdAt
        self.claimedAt = claimedAt
        self.finishedAt = finishedAt
        self.error = error
        self.path = path
        self.sha256 = sha256
        self.timings = timings
    }
}

public struct ListRequest: Codable, Sendable {
    public var batch: String?
    public var state: String?
    public var afterId: Int64
    public var limit: Int
    public init(batch: String? = nil, state: String? = nil, afterId: Int64 = 0, limit: Int = 100) {
        self.batch = batch
        self.state = state
        self.afterId = afterId
        self.limit = limit
    }
}

public struct ListReply: Codable, Sendable, Equatable {
    public var jobs: [JobInfo]
    public init(jobs: [JobInfo]) { self.jobs = jobs }
}

public struct ShowRequest: Codable, Sendable {
    public var id: Int64
    public init(id: Int64) { self.id = id }
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

public struct ExportRequest: Codable, Sendable {
    public var batch: String?
    public var afterId: Int64
    public var limit: Int
    public init(batch: String?, afterId: Int64 = 0, limit: Int = 5000) {
        self.batch = batch
        self.afterId = afterId
        self.limit = limit
    }
}

public struct WorkerInfo: Codable, Sendable, Equatable {
    public var id: String
    public var state: String
    public var jobId: Int64?
    public var completed: Int
    public var failed: Int
    public var sinceSeconds: Double
    public init(id: String, state: String, jobId: Int64?, completed: Int, failed: Int, sinceSeconds: Double) {
        self.id = id
        self.state = state
        self.jobId = jobId
        self.completed = completed
        self.failed = failed
        self.sinceSeconds = sinceSeconds
    }
}

public struct WorkersReply: Codable, Sendable, Equatable {
    public var workers: [WorkerInfo]
    public init(workers: [WorkerInfo]) { self.workers = workers }
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
    public init(ok: Bool, version: String, pid: Int32, uptimeSeconds: Double, model: String, modelSha256: String, blas: String,
                stateDir: String, outputDir: String, peakRssMb: Double, lifecycle: String) {
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
    }
}

public struct ShutdownRequest: Codable, Sendable {
    /// Finish the running jobs first (true), or release them now.
    public var drain: Bool
    public init(drain: Bool) { self.drain = drain }
}
