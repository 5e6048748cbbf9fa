extension JobStore {
    /// Which jobs a control operation applies to.
    public typealias Target = QueueTarget

    /// Cancels pending and running jobs (a running job's worker is then fenced out). Returns the count.
    @discardableResult
    public func cancel(_ target: Target) throws -> Int {
        try write {
            let (clause, args) = try where_(target)
            return try db.prepare("""
                UPDATE jobs SET \(QueueSQL.cancelSet(now: "?"))
                WHERE state IN ('pending', 'running') AND \(clause)
                """).run([.double(clock())] + args)
        }
    }

    /// Puts failed (and, with `includeCanceled`, canceled) jobs back to pending with fresh attempts; seeds stay.
    @discardableResult
    public func retry(_ target: Target, includeCanceled: Bool) throws -> Int {
        try write {
            let (clause, args) = try where_(target)
            return try db.prepare("""
                UPDATE jobs SET \(QueueSQL.retrySet)
                WHERE state IN \(QueueSQL.retryStates(includeCanceled: includeCanceled)) AND \(clause)
                """).run(args)
        }
    }

    /// Stops (or resumes) claims from the whole queue or one batch; job rows are untouched.
    public func setPaused(_ paused: Bool, batch: String?) throws {
        try write {
            if let batch {
                let n = try db.prepare("UPDATE batches SET paused = ? WHERE name = ?").run([.int(paused ? 1 : 0), .text(batch)])
                if n == 0 { throw QueueError.unknownBatch(batch) }
            } else {
                try db.prepare("INSERT INTO settings (key, value) VALUES ('paused', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
                    .run([.text(paused ? "1" : "0")])
            }
        }
    }

    /// Whether the whole queue is paused.
    public func isPaused() throws -> Bool { try locked { try queuePausedLocked() } }

    func queuePausedLocked() throws -> Bool {
        let s = try db.prepare("SELECT value FROM settings WHERE key = 'paused'")
        try s.bind([])
        return try s.step() && s.text(0) == "1"
    }

    private func where_(_ t: Target) throws -> (String, [SQLValue]) {
        switch t {
        case .job(let id):
            guard try db.scalarInt("SELECT 1 FROM jobs WHERE id = ?", [.int(id)]) != nil else { throw QueueError.unknownJob(id) }
            return ("id = ?", [.int(id)])
        case .batch(let name): return ("batch_id = ?", [.int(try batchId(name))])
        case .all: return ("1 = 1", [])
        }
    }
}
