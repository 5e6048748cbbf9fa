import Foundation

/// The part of a submit that does not depend on the store: validation of the whole file first, chunks of
/// `options.submitChunk` jobs (one transaction each), stable keys and seeds from the line index.
enum Submission {
    /// Validates everything, then calls `insert(chunk, startIndexOfChunk)` per chunk; `insert` returns how many
    /// rows it added (the rest were duplicates of an earlier submit).
    static func run(batch: BatchSpec, jobs: [JobSpec], startIndex: Int, chunk: Int,
                    insert: (ArraySlice<JobSpec>, Int) throws -> Int) throws -> SubmitResult {
        try JobStore.validate(batch)
        guard startIndex >= 0, startIndex <= Int(Int32.max) else {
            throw QueueError.invalidBatch(name: batch.name, reason: "start index \(startIndex) outside 0…\(Int32.max)")
        }
        for (i, job) in jobs.enumerated() { try JobStore.validate(job, index: startIndex + i, baseSeed: batch.baseSeed) }
        var result = SubmitResult()
        result.requested = jobs.count
        var offset = 0
        repeat {
            let slice = jobs[offset..<min(jobs.count, offset + chunk)]
            result.enqueued += try insert(slice, startIndex + offset)
            KillPoint.reached("submit-chunk")
            offset += chunk
        } while offset < jobs.count
        result.duplicates = result.requested - result.enqueued
        return result
    }

    /// The default idempotency key of the job at 0-based `index`.
    static func key(_ job: JobSpec, index: Int) -> String { job.key ?? "line:\(index + 1)" }

    /// The seed, resolved once at submit: the job's own, else base + index, else a random 63-bit value.
    /// `validate` refused any base + index past 2^63−1, so the sum cannot overflow.
    static func seed(_ job: JobSpec, batch: BatchSpec, index: Int, rng: inout SystemRandomNumberGenerator) -> Int64 {
        job.seed ?? batch.baseSeed.map { $0 + Int64(index) } ?? Int64(rng.next() >> 1)
    }
}
