extension PostgresJobStore {
    public func recoverExpiredLeases(all: Bool) throws -> QueueRecovery {
        try write {
            try rescueLocked(where: all ? "state = 'running'" : "state = 'running' AND lease_expires_at < \(Self.now)", [])
        }
    }

    public func recoverLeases(heldBy isDead: (String) -> Bool) throws -> QueueRecovery {
        let held = try locked {
            try db.query("SELECT id, worker_id FROM jobs WHERE state = 'running'").rows.map { PGRow(values: $0) }
        }
        let dead = held.filter { isDead($0.text(1)) }
        return try write {
            var r = QueueRecovery()
            for row in dead {
                let one = try rescueLocked(where: "id = $2::bigint AND worker_id = $3 AND state = 'running'", [String(row.int(0)), row.text(1)])
                r.rescued += one.rescued
                r.poisoned += one.poisoned
            }
            return r
        }
    }

    /// The one rescue statement (as in the SQLite store): matching running jobs go back to pending with the
    /// attempt refunded and a rescue counted, or, at the `maxRescues`-th rescue, fail as poison. Parameters of
    /// `condition` start at $2. Under READ COMMITTED a row another node rescued meanwhile no longer matches.
    func rescueLocked(where condition: String, _ params: [String?]) throws -> QueueRecovery {
        let rows = try db.query("""
            UPDATE jobs SET \(QueueSQL.rescueSet(poison: "rescues + 1 >= $1::integer", now: Self.now, greatest: "greatest"))
            WHERE \(condition)
            RETURNING state = 'failed'
            """, [String(options.maxRescues)] + params)
        var r = QueueRecovery()
        for row in rows.rows { if row.first == "t" { r.poisoned += 1 } else { r.rescued += 1 } }
        return r
    }
}
