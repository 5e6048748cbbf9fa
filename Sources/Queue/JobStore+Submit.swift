import Foundation

extension JobStore {
    /// Validates every job, then inserts them in transactions of `options.submitChunk` rows.
    ///
    /// Nothing is inserted if any job is invalid. Keys default to "line:<startIndex + i + 1>", so resubmitting
    /// the same file under the same batch name enqueues nothing twice, and an interrupted submit can be rerun.
    /// `startIndex` lets a client send a long file in several calls with stable keys and seeds.
    public func submit(batch: BatchSpec, jobs: [JobSpec], startIndex: Int) throws -> SubmitResult {
        try Submission.run(batch: batch, jobs: jobs, startIndex: startIndex, chunk: options.submitChunk) { chunk, start in
            try write { try insert(batch: batch, chunk, startIndex: start) }
        }
    }

    private func insert(batch: BatchSpec, _ jobs: ArraySlice<JobSpec>, startIndex: Int) throws -> Int {
        let now = clock()
        try db.prepare("INSERT OR IGNORE INTO batches (name, created_at, defaults) VALUES (?, ?, ?)")
            .run([.text(batch.name), .double(now), .text(Self.defaultsJSON(batch))])
        let batchId = try self.batchId(batch.name)
        // Multi-row INSERTs (32 rows a statement) cut SQLite's per-statement overhead roughly in half.
        let wide = try db.prepare(Self.insertSQL(rows: Self.rowsPerInsert)), single = try db.prepare(Self.insertSQL(rows: 1))
        for s in [wide, single] {
            try s.bind(1, batchId)
            try s.bind(2, now)
            try s.bind(3, Int64(batch.maxAttempts))
        }
        var enqueued = 0
        var rng = SystemRandomNumberGenerator()
        var i = jobs.startIndex
        while i < jobs.endIndex {
            let rows = jobs.endIndex - i >= Self.rowsPerInsert ? Self.rowsPerInsert : 1
            let stmt = rows == 1 ? single : wide
            for r in 0..<rows {
                let job = jobs[i + r], index = startIndex + (i - jobs.startIndex) + r
                // The seed is resolved once, here; a duplicate key keeps the seed stored the first time.
                let seed = Submission.seed(job, batch: batch, index: index, rng: &rng)
                let p = Int32(4 + r * 9)
                try stmt.bind(p, Submission.key(job, index: index))
                try stmt.bind(p + 1, job.prompt)
                try stmt.bind(p + 2, job.negativePrompt)
                try stmt.bind(p + 3, seed)
                try stmt.bind(p + 4, job.width ?? batch.width)
                try stmt.bind(p + 5, job.height ?? batch.height)
                try stmt.bind(p + 6, Int64(job.steps ?? batch.steps))
                try stmt.bind(p + 7, job.guidance ?? batch.guidance)
                try stmt.bind(p + 8, Int64(job.priority ?? batch.priority))
            }
            enqueued += try stmt.runBound()
            i += rows
        }
        // New rows are all pending: count them once per chunk (see Schema v2).
        try db.prepare("""
            INSERT INTO batch_counts (batch_id, state, n) VALUES (?, 'pending', ?)
            ON CONFLICT (batch_id, state) DO UPDATE SET n = n + excluded.n
            """).run([.int(batchId), .int(Int64(enqueued))])
        return enqueued
    }

    static let rowsPerInsert = 32

    /// `INSERT OR IGNORE … VALUES (…), (…)` for `rows` jobs: ?1 batch id, ?2 created_at, ?3 max_attempts shared;
    /// row r's nine values are ?(4 + 9r) … ?(12 + 9r).
    static func insertSQL(rows: Int) -> String {
        let tuples = (0..<rows).map { r -> String in
            let p = 4 + 9 * r
            return "(?1, ?\(p), ?\(p + 1), ?\(p + 2), ?\(p + 3), ?\(p + 4), ?\(p + 5), ?\(p + 6), ?\(p + 7), ?\(p + 8), 'pending', ?3, ?2)"
        }
        return """
            INSERT OR IGNORE INTO jobs (batch_id, key, prompt, negative_prompt, seed, width, height, steps, guidance,
                                        priority, state, max_attempts, created_at)
            VALUES \(tuples.joined(separator: ", "))
            """
    }

    static func defaultsJSON(_ b: BatchSpec) -> String {
        var d: [String: Any] = ["steps": b.steps, "guidance": b.guidance, "priority": b.priority, "max_attempts": b.maxAttempts]
        if let s = b.baseSeed { d["seed"] = s }
        if let w = b.width { d["width"] = w }
        if let h = b.height { d["height"] = h }
        let data = (try? JSONSerialization.data(withJSONObject: d, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    static func validate(_ b: BatchSpec) throws {
        let n = b.name
        guard !n.isEmpty, n.utf8.count <= JobLimits.maxBatchNameBytes else {
            throw QueueError.invalidBatch(name: n, reason: "name must be 1–\(JobLimits.maxBatchNameBytes) bytes")
        }
        guard n.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0) }),
              n != ".", n != ".." else {
            throw QueueError.invalidBatch(name: n, reason: "use letters, digits, '-', '_' and '.' only (it names an output folder)")
        }
        guard b.baseSeed.map({ $0 >= 0 }) ?? true else { throw QueueError.invalidBatch(name: n, reason: "base seed must be ≥ 0") }
        guard JobLimits.stepsRange.contains(b.steps) else { throw QueueError.invalidBatch(name: n, reason: "steps \(b.steps) outside \(JobLimits.stepsRange)") }
        guard JobLimits.guidanceRange.contains(b.guidance) else { throw QueueError.invalidBatch(name: n, reason: "guidance \(b.guidance) outside 0…50") }
        guard (1...100).contains(b.maxAttempts) else { throw QueueError.invalidBatch(name: n, reason: "max attempts must be 1…100") }
        guard JobLimits.priorityRange.contains(b.priority) else { throw QueueError.invalidBatch(name: n, reason: "priority outside −1000…1000") }
        for (f, v) in [("width", b.width), ("height", b.height)] {
            if let v, !JobLimits.sizeRange.contains(v) { throw QueueError.invalidBatch(name: n, reason: "\(f) \(v) outside 8…4096") }
        }
    }

    /// The 1-based position and hex code of the first C0 control character other than tab.
    static func controlCharacter(in text: String) -> (Int, String)? {
        guard let i = text.unicodeScalars.firstIndex(where: { $0.value < 0x20 && $0 != "\t" }) else { return nil }
        let hex = String(text.unicodeScalars[i].value, radix: 16, uppercase: true)
        return (text.unicodeScalars.distance(from: text.unicodeScalars.startIndex, to: i) + 1, String(repeating: "0", count: 4 - hex.count) + hex)
    }

    static func validate(_ j: JobSpec, index: Int, baseSeed: Int64? = nil) throws {
        func bad(_ field: String, _ reason: String) -> QueueError { .invalidJob(index: index, field: field, reason: reason) }
        // (Scalar scan rather than Foundation's trimmingCharacters: this runs a million times per large submit.)
        guard j.prompt.unicodeScalars.contains(where: { !$0.properties.isWhitespace }) else { throw bad("prompt", "is empty") }
        guard j.prompt.utf8.count <= JobLimits.maxPromptBytes else {
            throw bad("prompt", "is \(j.prompt.utf8.count) bytes; the limit is \(JobLimits.maxPromptBytes)")
        }
        if let n = j.negativePrompt, n.utf8.count > JobLimits.maxPromptBytes { throw bad("negative_prompt", "exceeds \(JobLimits.maxPromptBytes) bytes") }
        // Stored exactly as given or refused: SQLite's text binding and PNG text chunks end at a NUL.
        for (field, text) in [("prompt", j.prompt), ("negative_prompt", j.negativePrompt), ("key", j.key)] {
            if let text, let (position, code) = controlCharacter(in: text) {
                throw bad(field, "contains control character U+\(code) at character \(position); only tab is allowed")
            }
        }
        if let s = j.seed, s < 0 { throw bad("seed", "must be a non-negative integer below 2^63, got \(s)") }
        // A derived seed is validated like a given one: base + index wrapped negative and trapped the worker.
        if j.seed == nil, let base = baseSeed, base.addingReportingOverflow(Int64(index)).overflow {
            throw bad("seed", "base seed \(base) + index \(index) exceeds 2^63−1; use a base seed of at most \(Int64.max - Int64(index))")
        }
        if let k = j.key, k.isEmpty || k.utf8.count > JobLimits.maxKeyBytes { throw bad("key", "must be 1–\(JobLimits.maxKeyBytes) bytes") }
        for (f, v) in [("width", j.width), ("height", j.height)] {
            if let v, !JobLimits.sizeRange.contains(v) { throw bad(f, "\(v) outside 8…4096") }
        }
        if let s = j.steps, !JobLimits.stepsRange.contains(s) { throw bad("steps", "\(s) outside 1…50") }
        if let g = j.guidance, !(g.isFinite && JobLimits.guidanceRange.contains(g)) { throw bad("guidance", "\(g) outside 0…50") }
        if let p = j.priority, !JobLimits.priorityRange.contains(p) { throw bad("priority", "\(p) outside −1000…1000") }
    }
}
