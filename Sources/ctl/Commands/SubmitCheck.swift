import Wire

/// Pass 1 of `mdctl submit`: checks every job before anything is sent, and remembers the line of each job so
/// that an error the daemon reports by job index (a width out of range, say) names the file and line instead.
struct SubmitCheck {
    /// The source as errors name it: the file's path, "stdin" or "argument".
    let source: String
    /// `--seed`: job i without its own seed gets base + i, which must stay below 2^63.
    let baseSeed: Int64?
    /// lines[i] is the line (or argument position) of job i; 32-bit so that a million-line file costs 4 MB.
    private(set) var lines: [Int32] = []
    private(set) var errors: [String] = []

    init(source: String, baseSeed: Int64?) {
        self.source = source
        self.baseSeed = baseSeed
    }

    mutating func add(_ job: WireJob, line: Int) {
        let index = lines.count
        lines.append(Int32(clamping: line))
        for problem in Self.problems(job, index: index, baseSeed: baseSeed) { errors.append("\(source):\(line): \(problem)") }
    }

    /// What the daemon would refuse in `job`, as far as the client can tell (the model's limits it checks itself).
    static func problems(_ job: WireJob, index: Int, baseSeed: Int64?) -> [String] {
        var out = [PromptText.problem(job.prompt)]
        out.append(job.negativePrompt.flatMap { PromptText.problem($0, field: "negative_prompt") })
        out.append(job.key.flatMap { PromptText.controlCharacter($0, field: "key") })
        if job.seed == nil, let base = baseSeed, base.addingReportingOverflow(Int64(index)).overflow {
            out.append("seed: --seed \(base) + index \(index) exceeds 2^63−1; use a base seed of at most \(Int64.max - Int64(index))")
        }
        return out.compactMap { $0 }
    }

    /// The refusal of the whole submission when any job is bad (nothing has been sent yet).
    func failure() -> CtlFailure? {
        guard !errors.isEmpty else { return nil }
        let shown = errors.prefix(20).joined(separator: "\n  ") + (errors.count > 20 ? "\n  …" : "")
        return CtlFailure(.invalid, "\(errors.count) invalid line(s), nothing submitted:\n  " + shown)
    }

    /// Runs one submit call; an error naming a job by its index is reported at the job's file and line.
    func locating<T>(sent: Int, _ call: () throws -> T) throws -> T {
        do {
            return try GlobalOptions.map(call)
        } catch let e as CtlFailure {
            guard let located = located(e) else { throw e }
            let before = sent > 0 ? " (the \(sent) job(s) before its chunk were submitted; a corrected rerun skips them)" : ", nothing submitted"
            throw CtlFailure(e.code, located + before)
        }
    }

    private func located(_ e: CtlFailure) -> String? {
        guard let wire = e.wire, let i = wire.jobIndex, let problem = wire.jobProblem, lines.indices.contains(i) else { return nil }
        return "\(source):\(lines[i]): \(problem)"
    }
}
