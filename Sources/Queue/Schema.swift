/// The database schema as an ordered list of migrations; `PRAGMA user_version` records how many ran.
/// Never edit a shipped migration: append a new one (a frozen v1 database is a test fixture).
enum Schema {
    static let migrations: [String] = [
        // v1
        """
        CREATE TABLE batches (
            id          INTEGER PRIMARY KEY,
            name        TEXT NOT NULL UNIQUE,
            created_at  REAL NOT NULL,
            paused      INTEGER NOT NULL DEFAULT 0,
            defaults    TEXT NOT NULL DEFAULT '{}'
        );
        CREATE TABLE jobs (
            id               INTEGER PRIMARY KEY,
            batch_id         INTEGER NOT NULL REFERENCES batches(id),
            key              TEXT NOT NULL,
            prompt           TEXT NOT NULL,
            negative_prompt  TEXT,
            seed             INTEGER NOT NULL,
            width            INTEGER,
            height           INTEGER,
            steps            INTEGER NOT NULL,
            guidance         REAL NOT NULL,
            priority         INTEGER NOT NULL DEFAULT 0,
            state            TEXT NOT NULL CHECK (state IN ('pending','running','succeeded','failed','canceled')),
            attempts         INTEGER NOT NULL DEFAULT 0,
            max_attempts     INTEGER NOT NULL DEFAULT 3,
            rescues          INTEGER NOT NULL DEFAULT 0,
            lease_token      TEXT,
            lease_expires_at REAL,
            worker_id        TEXT,
            not_before       REAL,
            created_at       REAL NOT NULL,
            claimed_at       REAL,
            finished_at      REAL,
            error            TEXT,
            output_path      TEXT,
            output_sha256    TEXT,
            queue_wait_ms    REAL,
            text_ms          REAL,
            unet_ms          REAL,
            decode_ms        REAL,
            png_ms           REAL,
            total_ms         REAL,
            UNIQUE (batch_id, key)
        );
        CREATE INDEX jobs_claim ON jobs (priority DESC, id) WHERE state = 'pending';
        CREATE INDEX jobs_batch_state ON jobs (batch_id, state);
        CREATE INDEX jobs_running ON jobs (lease_expires_at) WHERE state = 'running';
        CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;
        CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        """,
        // v2: per-batch state counts kept in the same transaction as the job change, replacing the (batch_id, state)
        // index: status reads a handful of rows instead of scanning an index of every job. State changes and
        // deletes are counted by triggers; inserts (only bulk submit makes them) by one upsert per chunk, since a
        // per-row trigger made a 1,000,000-row submit 2.5x slower.
        """
        CREATE TABLE batch_counts (
            batch_id INTEGER NOT NULL REFERENCES batches(id),
            state    TEXT NOT NULL,
            n        INTEGER NOT NULL,
            PRIMARY KEY (batch_id, state)
        ) WITHOUT ROWID;
        INSERT INTO batch_counts (batch_id, state, n) SELECT batch_id, state, count(*) FROM jobs GROUP BY batch_id, state;
        CREATE TRIGGER jobs_count_update AFTER UPDATE OF state ON jobs WHEN OLD.state <> NEW.state BEGIN
            UPDATE batch_counts SET n = n - 1 WHERE batch_id = OLD.batch_id AND state = OLD.state;
            INSERT INTO batch_counts (batch_id, state, n) VALUES (NEW.batch_id, NEW.state, 1)
                ON CONFLICT (batch_id, state) DO UPDATE SET n = n + 1;
        END;
        CREATE TRIGGER jobs_count_delete AFTER DELETE ON jobs BEGIN
            UPDATE batch_counts SET n = n - 1 WHERE batch_id = OLD.batch_id AND state = OLD.state;
        END;
        DROP INDEX jobs_batch_state;
        CREATE INDEX jobs_batch ON jobs (batch_id, id);
        """,
        // v3: the nodes table (one row per daemon, its heartbeat and state) and its workers, the same tables as the
        // PostgreSQL store's, so `mdctl workers` takes one code path whichever store holds the queue.
        """
        CREATE TABLE nodes (
            name              TEXT PRIMARY KEY,
            host              TEXT NOT NULL,
            pid               INTEGER NOT NULL,
            started_at        REAL NOT NULL,
            state             TEXT NOT NULL,
            images_per_second REAL NOT NULL,
            heartbeat_at      REAL NOT NULL
        );
        CREATE TABLE node_workers (
            node              TEXT NOT NULL REFERENCES nodes(name) ON DELETE CASCADE,
            worker            TEXT NOT NULL,
            state             TEXT NOT NULL,
            job_id            INTEGER,
            completed         INTEGER NOT NULL,
            failed            INTEGER NOT NULL,
            images_per_second REAL NOT NULL,
            state_since       REAL NOT NULL,
            PRIMARY KEY (node, worker)
        );
        """,
        // v4: the all-time `stats` window from running latency histograms per batch (see `LatencyHistogram`), so it
        // reads a few hundred rows instead of sorting every finished job's latencies (13 s at 10 million rows).
        // Row triggers keep them: SQLite has one writer, so a counter row per batch costs nothing in contention.
        // A succeeded job cannot leave that state today (retry takes failed and canceled jobs only), but the
        // subtraction is there so the histograms stay equal to the rows if that ever changes.
        latencyMigration,
    ]

    /// Migration v4's SQL. Built from `LatencyHistogram.bucketSQL` so the triggers and the backfill compute the same
    /// bucket; changing the bucket formula would change what stored buckets mean, so it is frozen like the SQL.
    private static var latencyMigration: String {
        let stages = LatencyHistogram.columns.enumerated()
        func bucket(_ column: String) -> String { "CAST(\(LatencyHistogram.bucketSQL(column, max: "max")) AS INTEGER)" }
        func stageRows(_ row: String) -> String {
            stages.map { "SELECT \($0.offset) AS stage, \(row).\($0.element) AS ms" }.joined(separator: " UNION ALL ")
        }
        let sums = LatencyHistogram.columns.map { "\($0) = \($0) - coalesce(OLD.\($0), 0)" }.joined(separator: ", ")
        // One primary-key UPDATE per stage: prune runs this for every row it deletes. With one UPDATE over a row-value
        // IN list instead, pruning 1 M rows took 50 s against 24.5 s without the trigger; with these, 34 s against
        // 32 s (a loaded 2-vCPU VM, so noisy).
        let subtract = "UPDATE latency_totals SET n = n - 1, \(sums) WHERE batch_id = OLD.batch_id;\n" + stages.map {
            "UPDATE latency_buckets SET n = n - 1 WHERE batch_id = OLD.batch_id AND stage = \($0.offset) AND bucket = \(bucket("OLD.\($0.element)"));"
        }.joined(separator: "\n")
        return """
            CREATE TABLE latency_totals (
                batch_id       INTEGER PRIMARY KEY,
                n              INTEGER NOT NULL,
                \(LatencyHistogram.columns.map { "\($0) REAL NOT NULL" }.joined(separator: ", "))
                ,
                completed_ever INTEGER NOT NULL,
                first_claimed  REAL,
                last_finished  REAL
            );
            CREATE TABLE latency_buckets (
                batch_id INTEGER NOT NULL,
                stage    INTEGER NOT NULL,
                bucket   INTEGER NOT NULL,
                n        INTEGER NOT NULL,
                PRIMARY KEY (batch_id, stage, bucket)
            ) WITHOUT ROWID;
            INSERT INTO latency_totals
            SELECT batch_id, count(*), \(LatencyHistogram.columns.map { "total(\($0))" }.joined(separator: ", ")),
                   count(*), min(claimed_at), max(finished_at)
            FROM jobs WHERE state = 'succeeded' GROUP BY batch_id;
            INSERT INTO latency_buckets (batch_id, stage, bucket, n)
            SELECT batch_id, stage, bucket, count(*) FROM (
                \(stages.map { "SELECT batch_id, \($0.offset) AS stage, \(bucket($0.element)) AS bucket FROM jobs WHERE state = 'succeeded'" }
                    .joined(separator: " UNION ALL "))
            ) GROUP BY batch_id, stage, bucket;
            CREATE TRIGGER jobs_latency_succeeded AFTER UPDATE OF state ON jobs
            WHEN NEW.state = 'succeeded' AND OLD.state <> 'succeeded' BEGIN
                INSERT INTO latency_totals
                VALUES (NEW.batch_id, 1, \(LatencyHistogram.columns.map { "coalesce(NEW.\($0), 0)" }.joined(separator: ", ")),
                        1, NEW.claimed_at, NEW.finished_at)
                ON CONFLICT (batch_id) DO UPDATE SET n = n + 1,
                    \(LatencyHistogram.columns.map { "\($0) = \($0) + excluded.\($0)" }.joined(separator: ", ")),
                    completed_ever = completed_ever + 1,
                    first_claimed = coalesce(min(first_claimed, excluded.first_claimed), first_claimed, excluded.first_claimed),
                    last_finished = coalesce(max(last_finished, excluded.last_finished), last_finished, excluded.last_finished);
                INSERT INTO latency_buckets (batch_id, stage, bucket, n)
                SELECT NEW.batch_id, stage, \(bucket("ms")), 1 FROM (\(stageRows("NEW"))) WHERE true
                ON CONFLICT (batch_id, stage, bucket) DO UPDATE SET n = n + 1;
            END;
            CREATE TRIGGER jobs_latency_unsucceeded AFTER UPDATE OF state ON jobs
            WHEN OLD.state = 'succeeded' AND NEW.state <> 'succeeded' BEGIN
                \(subtract)
            END;
            CREATE TRIGGER jobs_latency_deleted AFTER DELETE ON jobs WHEN OLD.state = 'succeeded' BEGIN
                \(subtract)
            END;
            """
    }

    static var version: Int { migrations.count }

    /// Brings the database to the current version inside one transaction each; refuses a newer database.
    static func migrate(_ db: SQLiteConnection) throws {
        let current = Int(try db.scalarInt("PRAGMA user_version") ?? 0)
        guard current <= version else {
            throw QueueError.unusableDatabase(path: db.path, reason: "schema version \(current) is newer than this mdd (\(version)); upgrade mdd")
        }
        for v in current..<version {
            try db.transaction {
                try db.exec(migrations[v])
                try db.exec("PRAGMA user_version = \(v + 1)")
            }
        }
    }
}
