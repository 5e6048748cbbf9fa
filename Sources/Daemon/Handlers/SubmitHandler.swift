import Queue
import Wire

/// `submit`: validates and enqueues a chunk of jobs for a batch; wakes idle workers.
enum SubmitHandler {
    static func handle(_ r: SubmitRequest, _ c: DaemonContext) throws -> SubmitReply {
        guard c.lifecycle != "stopping" else { throw WireError(.shuttingDown, "the daemon is shutting down; submit again after it restarts") }
        let batch = BatchSpec(name: r.batch, baseSeed: r.baseSeed, steps: r.steps, guidance: r.guidance, width: r.width,
                              height: r.height, priority: r.priority, maxAttempts: r.maxAttempts)
        let jobs = r.jobs.map {
            JobSpec(prompt: $0.prompt, negativePrompt: $0.negativePrompt, seed: $0.seed, width: $0.width, height: $0.height,
                    steps: $0.steps, guidance: $0.guidance, priority: $0.priority, key: $0.key)
        }
        let result = try c.store.submit(batch: batch, jobs: jobs, startIndex: r.startIndex)
        if result.enqueued > 0 { c.wake.signal() }
        DaemonMetrics.shared.jobsSubmitted(result.enqueued)
        return SubmitReply(requested: result.requested, enqueued: result.enqueued, duplicates: result.duplicates)
    }
}
