import Foundation

/// Job states; a paused queue or held batch stops claims without changing rows.
public enum JobState: String, Codable, CaseIterable, Sendable {
    case pending, running, succeeded, failed, canceled
}

/// One job as submitted: everything but the seed is optional and falls back to the batch defaults.
public struct JobSpec: Sendable, Equatable {
    public var prompt: String
    public var negativePrompt: String?
    /// Explicit seed; nil → batch base seed + index, or a random 63-bit value drawn once.
    public var seed: Int64?
    public var width: Int?
    public var height: Int?
    public var steps: Int?
    public var guidance: Double?
    public var priority: Int?
    /// Idempotency key; nil → the job's index in the submission ("line N").
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

/// A batch's submission-wide settings.
public struct BatchSpec: Sendable, Equatable {
    public var name: String
    /// With a base seed, job i (0-based index in the submission) gets base + i unless it names its own.
    public var baseSeed: Int64?
    public var steps: Int
    public var guidance: Double
    public var width: Int?
    public var height: Int?
    public var priority: Int
    public var maxAttempts: Int

    public init(name: String, baseSeed: Int64? = nil, steps: Int = 1, guidance: Double = 0, width: Int? = nil,
                height: Int? = nil, priority: Int = 0, maxAttempts: Int = 3) {
        self.name = name
        self.baseSeed = baseSeed
        self.steps = steps
        self.guidance = guidance
        self.width = width
        self.height = height
        self.priority = priority
        self.maxAttempts = maxAttempts
    }
}

/// Outcome of a submission.
public struct SubmitResult: Codable, Sendable, Equatable {
    public var requested = 0
    public var enqueued = 0
    public var duplicates = 0
    public init() {}
}

/// Milliseconds spent per stage for one job.
public struct JobTimings: Codable, Sendable, Equatable {
    public var textMs: Double, unetMs: Double, decodeMs: Double, pngMs: Double, totalMs: Double
    public init(textMs: Double, unetMs: Double, decodeMs: Double, pngMs: Double, totalMs: Double) {
        self.textMs = textMs
        self.unetMs = unetMs
        self.decodeMs = decodeMs
        self.pngMs = pngMs
        self.totalMs = totalMs
    }
}

/// A job row.
public struct Job: Codable, Sendable, Equatable {
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
    public var state: JobState
    public var attempts: Int
    public var maxAttempts: Int
    public var rescues: Int
    public var workerId: String?
    public var leaseExpiresAt: Double?
    public var createdAt: Double
    public var claimedAt: Double?
    public var finishedAt: Double?
    public var error: String?
    public var outputPath: String?
    public var outputSHA256: String?
    public var queueWaitMs: Double?
    public var timings: JobTimings?
}

/// A claimed job and the token that fences every later transition.
public struct Lease: Sendable, Equatable {
    public let job: Job
    public let token: String
}

/// What a worker reports when a job is rendered and its file is durable.
public struct JobOutput: Sendable, Equatable {
    public var path: String
    public var sha256: String
    public var timings: JobTimings
    public init(path: String, sha256: String, timings: JobTimings) {
        self.path = path
        self.sha256 = sha256
        self.timings = timings
    }
}

/// Limits that keep one job or batch from hurting the store.
public enum JobLimits {
    /// Bytes of UTF-8 in a prompt or negative prompt.
    public static let maxPromptBytes = 4096
    public static let maxBatchNameBytes = 128
    public static let maxKeyBytes = 256
    public static let sizeRange = 8...4096
    public static let stepsRange = 1...50
    public static let guidanceRange = 0.0...50.0
    public static let priorityRange = -1000...1000
}
