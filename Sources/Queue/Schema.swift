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
    ]

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
