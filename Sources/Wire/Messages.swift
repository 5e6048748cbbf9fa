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
