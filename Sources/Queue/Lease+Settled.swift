/// Whether a transition whose COMMIT was cut off in flight (the connection broke before the reply arrived) went
/// through after all. The worker that holds the result asks once its repeat of the transition finds the lease gone:
/// a transition clears the lease token, so a repeat of one that committed is refused as stale, exactly like one
/// whose lease was taken away meanwhile (canceled, or expired and rescued). The row tells the two apart.
extension Lease {
    /// Whether `row` (this lease's job, read after the repeat was refused) shows this lease's completion by
    /// `worker` with `output`: a rescue or a cancel would have left another state, another worker or no file.
    public func showsCompletion(in row: Job, by worker: String, output: JobOutput) -> Bool {
        row.id == job.id && row.state == .succeeded && row.workerId == worker
            && row.outputSHA256 == output.sha256 && row.outputPath == output.path
    }

    /// The state this lease's failure by `worker` with `error` left the job in (`failed`, or `pending` waiting out
    /// its retry backoff), if `row` shows it committed; nil if not. The attempt claimed under this lease is the row's
    /// last (no later claim), no rescue was counted since the claim (a rescue is how an expired lease is taken back,
    /// and it also clears the worker), and the row carries this very error (a cancel writes its own).
    public func showsFailure(in row: Job, by worker: String, error: String) -> JobState? {
        guard row.id == job.id, row.workerId == worker, row.attempts == job.attempts, row.rescues == job.rescues,
              row.error == error, row.state == .failed || row.state == .pending else { return nil }
        return row.state
    }
}
