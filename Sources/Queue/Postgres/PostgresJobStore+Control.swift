extension PostgresJobStore {
    @discardableResult
    public func cancel(_ target: QueueTarget) throws -> Int {
        try write {
            let (clause, params) = try where_(target)
            return try db.query("""
                UPDATE jobs SET \(QueueSQL.cancelSet(now: Self.now))
                WHERE state IN ('pending', 'running') AND \(clause)
                """, params).affected
        }
    }

    @discardableResult
    public func retry(_ target: QueueTarget, includeCanceled: Bool) throws -> Int {
        try write {
            let (clause, params) = try where_(target)
            let n = try db.query("""
                UPDATE jobs SET \(QueueSQL.retrySet)
                WHERE state IN \(QueueSQL.retryStates(includeCanceled: includeCanceled)) AND \(clause)
                """, params).affected
            if n > 0 { try notifyWorkers() }
            return n
        }
    }

    public func setPaused(_ paused: Bool, batch: String?) throws {
        try write {
            if let batch {
                let n = try db.query("UPDATE batches SET paused = $1::boolean WHERE name = $2", [paused ? "true" : "false", batch]).affected
                if n == 0 { throw QueueError.unknownBatch(batch) }
            } else {
                try db.query("INSERT INTO settings (key, value) VALUES ('paused', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                             [paused ? "1" : "0"])
            }
            if !paused { try notifyWorkers() }
        }
    }

    public func isPaused() throws -> Bool { try reading { try Self.queuePaused(on: $0) } }

    static func queuePaused(on db: PGConnection) throws -> Bool {
        try db.query("SELECT value FROM settings WHERE key = 'paused'").scalar == "1"
    }

    /// The WHERE clause (parameter $1) for a target; an unknown job or batch is an error, not zero rows.
    private func where_(_ t: QueueTarget) throws -> (String, [String?]) {
        switch t {
        case .job(let id):
            guard try db.query("SELECT 1 FROM jobs WHERE id = $1::bigint", [String(id)]).rows.count == 1 else { throw QueueError.unknownJob(id) }
            return ("id = $1::bigint", [String(id)])
        case .batch(let name): return ("batch_id = $1::bigint", [String(try batchId(name))])
        case .all: return ("true", [])
        }
    }
}
