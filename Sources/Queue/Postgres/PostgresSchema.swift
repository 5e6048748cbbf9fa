/// The PostgreSQL schema as numbered migrations, recorded in `mdd_schema`. Daemons that start together
/// serialise on a transaction-scoped advisory lock, so each migration runs once. Never edit a shipped migration:
/// append a new one.
///
/// Times are epoch seconds (float8) from the database's clock, like the SQLite store's REAL columns, so both
/// stores decode a job the same way and no host clock decides a lease.
enum PostgresSchema {
    static let migrations: [String] = [
        // v1
        """
        CREATE TABLE batches (
            id          bigserial PRIMARY KEY,
            name        text NOT NULL UNIQUE,
            created_at  float8 NOT NULL,
            paused      boolean NOT NULL DEFAULT false,
            defaults    text NOT NULL DEFAULT '{}'
        );
        CREATE TABLE jobs (
            id               bigserial PRIMARY KEY,
            batch_id         bigint NOT NULL REFERENCES batches(id),
            key              text NOT NULL,
            prompt           text NOT NULL,
            negative_prompt  text,
            seed             bigint NOT NULL,
            width            integer,
            height           integer,
            steps            integer NOT NULL,
            guidance         float8 NOT NULL,
            priority         integer NOT NULL DEFAULT 0,
            state            text NOT NULL CHECK (state IN ('pending','running','succeeded','failed','canceled')),
            attempts         integer NOT NULL DEFAULT 0,
            max_attempts     integer NOT NULL DEFAULT 3,
            rescues          integer NOT NULL DEFAULT 0,
            lease_token      text,
            lease_expires_at float8,
            worker_id        text,
            not_before       float8,
            created_at       float8 NOT NULL,
            claimed_at       float8,
            finished_at      float8,
            error            text,
            output_path      text,
            output_sha256    text,
            queue_wait_ms    float8,
            text_ms          float8,
            unet_ms          float8,
            decode_ms        float8,
            png_ms           float8,
            total_ms         float8,
            UNIQUE (batch_id, key)
        );
        CREATE INDEX jobs_claim ON jobs (priority DESC, id) WHERE state = 'pending';
        CREATE INDEX jobs_batch_state ON jobs (batch_id, state);
        CREATE INDEX jobs_running ON jobs (lease_expires_at) WHERE state = 'running';
        CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;
        CREATE TABLE settings (key text PRIMARY KEY, value text NOT NULL);
        """,
        // v2: one row per daemon of the fleet with its heartbeat (database clock) and state, and its workers, so
        // that any node's `mdctl workers` lists the whole cluster and shows which nodes went silent.
        """
        CREATE TABLE nodes (
            name              text PRIMARY KEY,
            host              text NOT NULL,
            pid               integer NOT NULL,
            started_at        float8 NOT NULL,
            state             text NOT NULL,
            images_per_second float8 NOT NULL,
            heartbeat_at      float8 NOT NULL
        );
        CREATE TABLE node_workers (
            node              text NOT NULL REFERENCES nodes(name) ON DELETE CASCADE,
            worker            text NOT NULL,
            state             text NOT NULL,
            job_id            bigint,
            completed         integer NOT NULL,
            failed            integer NOT NULL,
            images_per_second float8 NOT NULL,
            state_since       float8 NOT NULL,
            PRIMARY KEY (node, worker)
        );
        """,
        // v3: counts per (batch, state) without counting rows: `status` at 10 million jobs read the whole
        // (batch_id, state) index (~1 s). A single counter row per state would serialise every claim and completion
        // of the fleet on it, so each statement that changes states appends its net change to `job_count_deltas`
        // (statement-level triggers over transition tables: one aggregate INSERT per statement, not per row), and
        // readers fold the deltas into `job_counts` now and then (`PostgresJobStore.foldCounts`). Counts are the sum
        // of both tables. v3, after the nodes table (v2).
        """
        CREATE TABLE job_counts (
            batch_id bigint NOT NULL,
            state    text NOT NULL,
            n        bigint NOT NULL,
            PRIMARY KEY (batch_id, state)
        );
        CREATE TABLE job_count_deltas (batch_id bigint NOT NULL, state text NOT NULL, n bigint NOT NULL);
        INSERT INTO job_counts (batch_id, state, n) SELECT batch_id, state, count(*) FROM jobs GROUP BY batch_id, state;
        CREATE FUNCTION mdd_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO job_count_deltas (batch_id, state, n) SELECT batch_id, state, count(*) FROM new_rows GROUP BY 1, 2;
            RETURN NULL;
        END $$;
        CREATE FUNCTION mdd_count_updated() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            -- Only rows whose state changed (a heartbeat changes none): -1 for the old state, +1 for the new.
            INSERT INTO job_count_deltas (batch_id, state, n)
            SELECT batch_id, state, sum(n) FROM (
                SELECT o.batch_id, o.state, -1 AS n FROM old_rows o JOIN new_rows w ON w.id = o.id WHERE w.state <> o.state
                UNION ALL
                SELECT w.batch_id, w.state, 1 AS n FROM old_rows o JOIN new_rows w ON w.id = o.id WHERE w.state <> o.state
            ) changed GROUP BY 1, 2 HAVING sum(n) <> 0;
            RETURN NULL;
        END $$;
        CREATE FUNCTION mdd_count_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO job_count_deltas (batch_id, state, n) SELECT batch_id, state, -count(*) FROM old_rows GROUP BY 1, 2;
            RETURN NULL;
        END $$;
        CREATE TRIGGER jobs_count_inserted AFTER INSERT ON jobs REFERENCING NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION mdd_count_inserted();
        CREATE TRIGGER jobs_count_updated AFTER UPDATE ON jobs REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION mdd_count_updated();
        CREATE TRIGGER jobs_count_deleted AFTER DELETE ON jobs REFERENCING OLD TABLE AS old_rows
            FOR EACH STATEMENT EXECUTE FUNCTION mdd_count_deleted();
        """,
        // v4: the all-time `stats` window from running latency histograms per batch (see `LatencyHistogram`): sorting
        // every finished job's latencies took 49 s at 10 million rows. Like the counts of v3, and for the same reason
        // (one hot row per batch would serialise the fleet's completions), statement-level triggers append each
        // statement's net change to the delta tables, and readers (`status`, `stats`) fold them in
        // (`foldLatencyLocked`). A succeeded job cannot leave that state today (retry takes failed and canceled jobs
        // only); the subtraction keeps the histograms equal to the rows should that change. Prune subtracts what it
        // deletes.
        latencyMigration,
    ]

    /// Migration v4's SQL. Built from `LatencyHistogram.bucketSQL` so the triggers and the backfill compute the same
    /// bucket; changing the bucket formula would change what stored buckets mean, so it is frozen like the SQL.
    private static var latencyMigration: String {
        let cols = LatencyHistogram.columns
        let totalsColumns = """
            n bigint NOT NULL, \(cols.map { "\($0) float8 NOT NULL" }.joined(separator: ", ")),
            completed_ever bigint NOT NULL, first_claimed float8, last_finished float8
            """
        func bucket(_ v: String) -> String { "\(LatencyHistogram.bucketSQL(v, max: "greatest"))::integer" }
        // `c(batch_id, sign, claimed_at, finished_at, <latency columns>)`: +1 per job that became succeeded, -1 per
        // succeeded job deleted or changed to another state; one aggregate row per batch and per bucket is appended.
        func record(_ changed: String) -> String {
            """
            WITH c AS (\(changed)),
            t AS (
                INSERT INTO latency_total_deltas
                SELECT batch_id, sum(sign), \(cols.map { "sum(sign * coalesce(\($0), 0))" }.joined(separator: ", ")),
                       sum(greatest(sign, 0)), min(claimed_at) FILTER (WHERE sign > 0), max(finished_at) FILTER (WHERE sign > 0)
                FROM c GROUP BY batch_id
            )
            INSERT INTO latency_bucket_deltas (batch_id, stage, bucket, n)
            SELECT c.batch_id, s.stage, \(bucket("s.ms")), sum(c.sign)
            FROM c CROSS JOIN LATERAL (VALUES \(cols.enumerated().map { "(\($0.offset), c.\($0.element))" }.joined(separator: ", "))) s(stage, ms)
            GROUP BY 1, 2, 3 HAVING sum(c.sign) <> 0;
            """
        }
        func rows(_ r: String, _ sign: Int) -> String {
            "\(r).batch_id, \(sign) AS sign, \(r).claimed_at, \(r).finished_at, " + cols.map { "\(r).\($0)" }.joined(separator: ", ")
        }
        return """
            CREATE TABLE latency_totals (batch_id bigint PRIMARY KEY, \(totalsColumns));
            CREATE TABLE latency_total_deltas (batch_id bigint NOT NULL, \(totalsColumns));
            CREATE TABLE latency_buckets (
                batch_id bigint NOT NULL, stage smallint NOT NULL, bucket integer NOT NULL, n bigint NOT NULL,
                PRIMARY KEY (batch_id, stage, bucket)
            );
            CREATE TABLE latency_bucket_deltas (batch_id bigint NOT NULL, stage smallint NOT NULL, bucket integer NOT NULL, n bigint NOT NULL);
            INSERT INTO latency_totals
            SELECT batch_id, count(*), \(cols.map { "coalesce(sum(\($0)), 0)" }.joined(separator: ", ")),
                   count(*), min(claimed_at), max(finished_at)
            FROM jobs WHERE state = 'succeeded' GROUP BY batch_id;
            INSERT INTO latency_buckets (batch_id, stage, bucket, n)
            SELECT j.batch_id, s.stage, \(bucket("s.ms")), count(*)
            FROM jobs j CROSS JOIN LATERAL (VALUES \(cols.enumerated().map { "(\($0.offset), j.\($0.element))" }.joined(separator: ", "))) s(stage, ms)
            WHERE j.state = 'succeeded' GROUP BY 1, 2, 3;
            CREATE FUNCTION mdd_latency_updated() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                \(record("""
                    SELECT \(rows("w", 1)) FROM old_rows o JOIN new_rows w ON w.id = o.id
                    WHERE w.state = 'succeeded' AND o.state <> 'succeeded'
                    UNION ALL
                    SELECT \(rows("o", -1)) FROM old_rows o JOIN new_rows w ON w.id = o.id
                    WHERE o.state = 'succeeded' AND w.state <> 'succeeded'
                    """))
                RETURN NULL;
            END $$;
            CREATE FUNCTION mdd_latency_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                \(record("SELECT \(rows("o", -1)) FROM old_rows o WHERE o.state = 'succeeded'"))
                RETURN NULL;
            END $$;
            CREATE TRIGGER jobs_latency_updated AFTER UPDATE ON jobs REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
                FOR EACH STATEMENT EXECUTE FUNCTION mdd_latency_updated();
            CREATE TRIGGER jobs_latency_deleted AFTER DELETE ON jobs REFERENCING OLD TABLE AS old_rows
                FOR EACH STATEMENT EXECUTE FUNCTION mdd_latency_deleted();
            """
    }

    static var version: Int { migrations.count }

    /// Any 64-bit constant unique to mdd: the advisory lock that serialises migrations between daemons.
    static let migrationLock: Int64 = 0x6D64_645F_7363_6865  // "mdd_sche"

    /// Brings the database to the current version in one transaction under the advisory lock; refuses a newer one.
    static func migrate(_ db: PGConnection) throws {
        try db.transaction {
            try db.query("SELECT pg_advisory_xact_lock($1::bigint)", [String(migrationLock)])
            try db.query("CREATE TABLE IF NOT EXISTS mdd_schema (version integer NOT NULL)")
            let current = try currentVersion(db)
            guard current <= version else {
                throw QueueError.unusableDatabase(path: db.location, reason: "schema version \(current) is newer than this mdd (\(version)); upgrade mdd on every node")
            }
            for v in current..<version {
                try db.exec(migrations[v])
                try db.query("INSERT INTO mdd_schema (version) VALUES ($1::integer)", [String(v + 1)])
            }
        }
    }

    /// The highest migration recorded (0 for a new database).
    static func currentVersion(_ db: PGConnection) throws -> Int {
        Int(try db.query("SELECT coalesce(max(version), 0) FROM mdd_schema").scalar ?? "0") ?? 0
    }
}
