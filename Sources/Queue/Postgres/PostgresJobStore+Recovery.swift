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
        let poison = "rescues + 1 >= $1::integer"
        let rows = try db.query("""
            UPDATE jobs SET state = CASE WHEN \(poison) THEN 'failed' ELSE 'pending' END,
                   error = CASE WHEN \(poison) THEN 'worker died ' || (rescues + 1) || ' times while rendering this job (poison job?)' ELSE error END,
                   finished_at = CASE WHEN \(poison) THEN \(Self.now) ELSE NULL END,
                   attempts = CASE WHEN \(poison) THEN attempts ELSE greatest(attempts - 1, 0) END,
                   worker_id = CASE WHEN \(poison) THEN worker_id END, claimed_at = CASE WHEN \(poison) THEN claimed_at END,
                   rescues = rescues + 1, lease_token = NULL, lease_expires_at = NULL
            WHERE \(condition)
            RETURNING state = 'failed'
            """, [String(options.maxRescues)] + params)
        var r = QueueRecovery()
        for row in rows.rows { if row.first == "t" { r.poisoned += 1 } else { r.rescued += 1 } }
        return r
    }
}
