/// The nodes table and pruning on PostgreSQL. Every daemon of the fleet upserts its own row; heartbeat and start
/// times come from the database's clock, so one host's wrong clock cannot make another node look lost.
extension PostgresJobStore {
    @discardableResult
    public func report(node r: NodeReport) throws -> NodeReport? {
        try write {
            let previous = try db.query("SELECT host, pid, state, \(Self.now) - started_at FROM nodes WHERE name = $1 FOR UPDATE", [r.name])
                .rows.first.map { values -> NodeReport in
                    let p = PGRow(values: values)
                    return NodeReport(name: r.name, host: p.text(0), pid: Int32(truncatingIfNeeded: p.int(1)), uptimeSeconds: p.double(3),
                                      state: p.text(2), imagesPerSecond: 0, workers: [])
                }
            try db.query("""
                INSERT INTO nodes (name, host, pid, started_at, state, images_per_second, heartbeat_at)
                VALUES ($1, $2, $3::integer, \(Self.now) - $4::float8, $5, $6::float8, \(Self.now))
                ON CONFLICT (name) DO UPDATE SET host = excluded.host, pid = excluded.pid, started_at = excluded.started_at,
                    state = excluded.state, images_per_second = excluded.images_per_second, heartbeat_at = excluded.heartbeat_at
                """, [r.name, r.host, String(r.pid), String(r.uptimeSeconds), r.state, String(r.imagesPerSecond)])
            // Replaced, not merged: a worker the node no longer has must not linger in the listing.
            try db.query("DELETE FROM node_workers WHERE node = $1", [r.name])
            guard !r.workers.isEmpty else { return previous }
            var params: [String?] = [r.name], rows: [String] = []
            for w in r.workers {
                let p = params.count
                rows.append("($1, $\(p + 1), $\(p + 2), $\(p + 3)::bigint, $\(p + 4)::integer, $\(p + 5)::integer, $\(p + 6)::float8, \(Self.now) - $\(p + 7)::float8)")
                params += [w.id, w.state, w.jobId.map { String($0) }, String(w.completed), String(w.failed), String(w.imagesPerSecond), String(w.sinceSeconds)]
            }
            try db.query("""
                INSERT INTO node_workers (node, worker, state, job_id, completed, failed, images_per_second, state_since)
                VALUES \(rows.joined(separator: ", "))
                """, params)
            return previous
        }
    }

    public func nodes() throws -> [NodeRecord] {
        try reading { db in
            // One statement, so both tables are read at one database time (now() is the transaction's start).
            let rows = try db.query("""
                SELECT n.name, n.host, n.pid, n.started_at, n.state, n.images_per_second, \(Self.now) - n.heartbeat_at,
                       \(Self.now) - n.started_at, w.worker, w.state, w.job_id, w.completed, w.failed, w.images_per_second,
                       \(Self.now) - w.state_since
                FROM nodes n LEFT JOIN node_workers w ON w.node = n.name ORDER BY n.name, w.worker
                """).rows
            var out: [NodeRecord] = []
            for values in rows {
                let r = PGRow(values: values)
                if out.last?.report.name != r.text(0) {
                    out.append(NodeRecord(
                        report: NodeReport(name: r.text(0), host: r.text(1), pid: Int32(truncatingIfNeeded: r.int(2)),
                                           uptimeSeconds: max(0, r.double(7)), state: r.text(4), imagesPerSecond: r.double(5), workers: []),
                        startedAt: r.double(3), heartbeatAgeSeconds: max(0, r.double(6))))
                }
                guard r.optionalText(8) != nil else { continue }  // a node without workers (LEFT JOIN)
                out[out.count - 1].report.workers.append(WorkerReport(
                    id: r.text(8), state: r.text(9), jobId: r.optionalInt(10), completed: Int(r.int(11)), failed: Int(r.int(12)),
                    imagesPerSecond: r.double(13), sinceSeconds: max(0, r.double(14))))
            }
            return out
        }
    }

    public func forgetNodes(silentFor seconds: Double, dryRun: Bool) throws -> Int {
        let condition = "heartbeat_at < \(Self.now) - $1::float8"
        if dryRun { return Int(try reading { try $0.query("SELECT count(*) FROM nodes WHERE \(condition)", [String(seconds)]).scalar } ?? "0") ?? 0 }
        return try write { try db.query("DELETE FROM nodes WHERE \(condition)", [String(seconds)]).affected }  // workers cascade
    }

    public func prune(_ filter: PruneFilter, dryRun: Bool) throws -> Int {
        var clauses = ["state IN \(QueueSQL.finishedStates)"], params: [String?] = []
        if let age = try QueueSQL.pruneAge(filter) { params.append(String(age)); clauses.append("finished_at < \(Self.now) - $\(params.count)::float8") }
        if let batch = filter.batch { params.append(String(try reading { try batchId(batch, on: $0) })); clauses.append("batch_id = $\(params.count)::bigint") }
        let condition = clauses.joined(separator: " AND ")
        if dryRun { return Int(try reading { try $0.query("SELECT count(*) FROM jobs WHERE \(condition)", params).scalar } ?? "0") ?? 0 }
        // One statement, unlike SQLite's chunks: under MVCC a long DELETE blocks no claim or commit (it locks only
        // finished rows, which nothing else writes but a retry), while chunks re-walk the dead tuples of the chunks
        // before them until a vacuum: 100,000 rows took 1.44 s in chunks of 10,000 against 0.13 s at once.
        // Counts come from the rows (status groups the jobs table).
        return try write { try db.query("DELETE FROM jobs WHERE \(condition)", params).affected }
    }

    /// A LISTEN connection of its own (libpq reads the password from PGPASSWORD or the password file, as for `db`).
    public func wakeSource() throws -> (any QueueWakeSource)? { try PGListener(conninfo: location, location: location) }

    /// Wakes every listening daemon once this transaction commits (PostgreSQL delivers NOTIFY at commit, folding
    /// duplicates of one transaction into one).
    func notifyWorkers() throws { try db.query("SELECT pg_notify($1, '')", [PGListener.channel]) }
}
