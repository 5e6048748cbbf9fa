/// The nodes table and pruning on SQLite. One daemon writes here (a SQLite queue has one node), but the rows are
/// the same as in PostgreSQL, so `mdctl workers` and `mdctl prune` take one code path whichever store is in use.
extension JobStore {
    @discardableResult
    public func report(node r: NodeReport) throws -> NodeReport? {
        try write {
            let now = clock()
            let before = try db.prepare("SELECT host, pid, state, started_at FROM nodes WHERE name = ?")
            try before.bind([.text(r.name)])
            let previous = try before.step()
                ? NodeReport(name: r.name, host: before.text(0), pid: Int32(truncatingIfNeeded: before.int(1)),
                             uptimeSeconds: now - before.double(3), state: before.text(2), imagesPerSecond: 0, workers: [])
                : nil
            before.reset()
            try db.prepare("""
                INSERT INTO nodes (name, host, pid, started_at, state, images_per_second, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (name) DO UPDATE SET host = excluded.host, pid = excluded.pid, started_at = excluded.started_at,
                    state = excluded.state, images_per_second = excluded.images_per_second, heartbeat_at = excluded.heartbeat_at
                """).run([.text(r.name), .text(r.host), .int(Int64(r.pid)), .double(now - r.uptimeSeconds), .text(r.state),
                          .double(r.imagesPerSecond), .double(now)])
            // Replaced, not merged: a worker the node no longer has must not linger in the listing.
            try db.prepare("DELETE FROM node_workers WHERE node = ?").run([.text(r.name)])
            for w in r.workers {
                try db.prepare("""
                    INSERT INTO node_workers (node, worker, state, job_id, completed, failed, images_per_second, state_since)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """).run([.text(r.name), .text(w.id), .text(w.state), w.jobId.map(SQLValue.int) ?? .null, .int(Int64(w.completed)),
                              .int(Int64(w.failed)), .double(w.imagesPerSecond), .double(now - w.sinceSeconds)])
            }
            return previous
        }
    }

    public func nodes() throws -> [NodeRecord] {
        try locked {
            let now = clock()
            var workers: [String: [WorkerReport]] = [:]
            let w = try db.prepare("""
                SELECT node, worker, state, job_id, completed, failed, images_per_second, state_since FROM node_workers ORDER BY node, worker
                """)
            try w.bind([])
            while try w.step() {
                workers[w.text(0), default: []].append(WorkerReport(
                    id: w.text(1), state: w.text(2), jobId: w.optionalInt(3), completed: Int(w.int(4)), failed: Int(w.int(5)),
                    imagesPerSecond: w.double(6), sinceSeconds: max(0, now - w.double(7))))
            }
            var out: [NodeRecord] = []
            let n = try db.prepare("SELECT name, host, pid, started_at, state, images_per_second, heartbeat_at FROM nodes ORDER BY name")
            try n.bind([])
            while try n.step() {
                let name = n.text(0), started = n.double(3)
                out.append(NodeRecord(
                    report: NodeReport(name: name, host: n.text(1), pid: Int32(truncatingIfNeeded: n.int(2)), uptimeSeconds: max(0, now - started),
                                       state: n.text(4), imagesPerSecond: n.double(5), workers: workers[name] ?? []),
                    startedAt: started, heartbeatAgeSeconds: max(0, now - n.double(6))))
            }
            return out
        }
    }

    public func forgetNodes(silentFor seconds: Double, dryRun: Bool) throws -> Int {
        let cutoff = SQLValue.double(clock() - seconds)
        if dryRun { return Int(try locked { try db.scalarInt("SELECT count(*) FROM nodes WHERE heartbeat_at < ?", [cutoff]) } ?? 0) }
        return try write { try db.prepare("DELETE FROM nodes WHERE heartbeat_at < ?").run([cutoff]) }  // workers cascade
    }

    public func prune(_ filter: PruneFilter, dryRun: Bool) throws -> Int {
        var clauses = ["state IN \(QueueSQL.finishedStates)"], args: [SQLValue] = []
        if let age = try QueueSQL.pruneAge(filter) { clauses.append("finished_at < ?"); args.append(.double(clock() - age)) }
        if let batch = filter.batch { clauses.append("batch_id = ?"); args.append(.int(try locked { try batchId(batch) })) }
        let condition = clauses.joined(separator: " AND ")
        if dryRun { return Int(try locked { try db.scalarInt("SELECT count(*) FROM jobs WHERE \(condition)", args) } ?? 0) }
        // In transactions of `pruneChunk` rows: one DELETE of millions would hold the only write lock for seconds,
        // stalling every worker's commit. The jobs_count_delete trigger takes each row off batch_counts as it goes.
        var removed = 0
        while true {
            let n = try write {
                try db.prepare("DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE \(condition) LIMIT \(QueueSQL.pruneChunk))").run(args)
            }
            removed += n
            if n < QueueSQL.pruneChunk { return removed }
        }
    }

    /// An SQLite queue has one daemon, which wakes its own workers.
    public func wakeSource() throws -> (any QueueWakeSource)? { nil }
}
