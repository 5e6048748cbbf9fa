import Engine
import Foundation
import Queue

/// Where rendered PNGs go: `<output>/<batch>/<job-id>-<seed>.png`, written atomically. Batch names are
/// validated by the queue (letters, digits, '-', '_', '.'), so paths cannot escape the output folder.
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

    /// A file left by a crash between rename and commit is reused when its metadata records this very job, rendered
    /// as this engine would render it now: prompt, negative prompt, seed, steps, guidance, size, model weights,
    /// engine version and precision (a chunk absent from the file must be absent from the job too: after the queue
    /// database is recreated, job ids restart and an old file of another job can sit at the path). Otherwise the job
    /// is rendered again and the file replaced. Returns the bytes to reuse.
    func reusable(for job: Job, engine: TextToImage, width: Int, height: Int) -> [UInt8]? {
        guard let data = FileManager.default.contents(atPath: path(for: job)) else { return nil }
        let bytes = [UInt8](data)
        let text = Dictionary(PNGCodec.textChunks(bytes), uniquingKeysWith: { a, _ in a })
        let expected: [String: String?] = [
            "prompt": job.prompt, "negative_prompt": job.negativePrompt, "seed": String(job.seed), "steps": String(job.steps),
            "guidance": String(Float(job.guidance)), "width": String(width), "height": String(height),
            "model_sha256": engine.weightsSHA256, "engine": TextToImage.engineVersion,
            "precision": engine.precision == .fp32 ? nil : engine.precision.rawValue,
        ]
        guard expected.allSatisfy({ text[$0.key] == $0.value }), (try? PNGCodec.decode(bytes)) != nil else { return nil }
        return bytes
    }
}
