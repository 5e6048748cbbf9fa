import Engine
import Foundation
import Queue

/// Where rendered PNGs go: `<output>/<batch>/<job-id>-<seed>.png`, written atomically. Batch names are
/// validated by the queue (letters, digits, '-', '_', '.'), so paths cannot escape the output folder.
///
/// The file at a recorded path must always have the recorded SHA-256, also in a fleet sharing one output folder
/// where a node can be cut off from the database mid-job: its lease expires, another node renders the job, and the
/// late node comes back with its own bytes for the same path (renders on different CPUs need not be bit-identical).
/// Fencing in the database refuses the late node's completion, but a file system has no fence, and checking the
/// lease before a rename races with the lease expiring. So a job's final file is written at most once: `publish`
/// links it into place without ever replacing it (first writer wins), and whoever finds a valid render of the job
/// there adopts it, recording that file's SHA-256 instead of its own bytes'. Every writer of the path then records
/// the same bytes, whichever of them the database lets commit, and a refused node leaves the file alone. (Naming
/// files per attempt would also be safe, but changes the layout that users' scripts and `export` rely on.)
/// Only a file that is not a render of this job (another job's, left before the queue was recreated) is replaced;
/// a render of the job by another model build, engine version or precision is kept (see `anyRender`).
struct OutputStore {
    let root: String

    func path(for job: Job) -> String { "\(root)/\(job.batch)/\(job.id)-\(job.seed).png" }

    /// Writes the PNG durably and returns its SHA-256.
    func write(_ png: [UInt8], for job: Job) throws -> (String, String) {
        let p = path(for: job)
        try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try AtomicFile.write(png, to: p)
        return (p, SHA256.hex(png))
    }

    /// What `publish` did.
    enum Published {
        /// Our bytes are now the file at the path.
        case written(path: String, sha256: String)
        /// A valid render of this job was there already (an earlier attempt's, or a cut-off node's): it is kept
        /// and its bytes are the result.
        case adopted(path: String, sha256: String)
        /// A file that is not a render of this job was there (`reason` says why not); our bytes replaced it.
        case replaced(path: String, sha256: String, reason: String)
    }

    /// What is at a job's path: a render of the job (its bytes), or something else and why it is not one.
    enum Existing {
        case render([UInt8])
        case other(String)
    }

    /// Puts the job's PNG at its path unless a valid render of the job is there already (see the type's comment).
    /// `tag` names the writer (its node) in its temp file's name; `existing` says what is at the path.
    func publish(_ png: [UInt8], for job: Job, tag: String, existing: () -> Existing) throws -> Published {
        let p = path(for: job)
        try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        if try AtomicFile.publish(png, to: p, tag: tag) { return .written(path: p, sha256: SHA256.hex(png)) }
        switch existing() {
        case .render(let bytes):
            return .adopted(path: p, sha256: SHA256.hex(bytes))
        case .other(let reason):
            // Not a render of this job: a stale file of another job, which no lease can have recorded for this one.
            try AtomicFile.write(png, to: p, tag: tag)
            return .replaced(path: p, sha256: SHA256.hex(png), reason: reason)
        }
    }

    /// Removes the writer's temp file of the job: a kill between `publish`'s link and its unlink leaves it beside
    /// the published file, and a reused file is never published again.
    func removeLeftoverTemp(for job: Job, tag: String) {
        unlink(AtomicFile.tempPath(for: path(for: job), tag: tag))
    }

    /// A file left by a crash between rename and commit is reused when its metadata records this very job, rendered
    /// as this engine would render it now: prompt, negative prompt, seed, steps, guidance, size, model weights,
    /// engine version and precision (a chunk absent from the file must be absent from the job too: after the queue
    /// database is recreated, job ids restart and an old file of another job can sit at the path). Otherwise the job
    /// is rendered again and the file replaced. Returns the bytes to reuse.
    func reusable(for job: Job, engine: TextToImage, width: Int, height: Int) -> [UInt8]? {
        guard case .render(let bytes) = render(of: job, width: width, height: height, also: [
            "model_sha256": engine.weightsSHA256, "engine": TextToImage.engineVersion,
            "precision": engine.precision == .fp32 ? nil : engine.precision.rawValue,
        ]) else { return nil }
        return bytes
    }

    /// The file at the job's path if it is a render of this job by any node: prompt, negative prompt, seed, steps,
    /// guidance and size match, whatever model build, engine version or precision rendered it. `publish` keeps such
    /// a file: in a fleet, nodes may render with different precisions (each measures its own at start-up) or
    /// during a rolling upgrade with different engines, and any of them may be the one whose completion the
    /// database records. (A test caught exactly that: a late node that judged an other-precision render stale
    /// replaced the recorded file.) Only another job's file, left before the queue was recreated, is replaced.
    func anyRender(of job: Job, width: Int, height: Int) -> Existing {
        render(of: job, width: width, height: height, also: [:])
    }

    /// The file's bytes if its PNG text records the job's request (plus `also`) and it decodes; else why not.
    private func render(of job: Job, width: Int, height: Int, also: [String: String?]) -> Existing {
        guard let data = FileManager.default.contents(atPath: path(for: job)) else { return .other("no readable file") }
        let bytes = [UInt8](data)
        let text = Dictionary(PNGCodec.textChunks(bytes), uniquingKeysWith: { a, _ in a })
        let expected: [String: String?] = [
            "prompt": job.prompt, "negative_prompt": job.negativePrompt, "seed": String(job.seed), "steps": String(job.steps),
            "guidance": String(Float(job.guidance)), "width": String(width), "height": String(height),
        ].merging(also) { a, _ in a }
        let quoted = { (v: String?) in v.map { "'\($0.prefix(80))'" } ?? "none" }
        for (key, value) in expected.sorted(by: { $0.key < $1.key }) where text[key] != value {
            return .other("its '\(key)' is \(quoted(text[key])), the job's \(quoted(value))")
        }
        guard (try? PNGCodec.decode(bytes)) != nil else { return .other("its \(bytes.count) bytes do not decode as a PNG") }
        return .render(bytes)
    }
}
