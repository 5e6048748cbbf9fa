import ArgumentParser
import Engine
import Foundation
import Wire

/// `mdd render`: one prompt → one PNG, or a prompt file → a folder of PNGs (`--prompts`, `--out-dir`), with
/// diffusers' pipeline defaults where one applies. The batch form loads the model once; it is what the default
/// model's evaluation uses, so images scored there are exactly what the engine renders.
struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render", abstract: "Render one image to a PNG file, or every prompt of a prompt file into a folder.")

    @Option(help: "diffusers-format model folder (default: the embedded model).") var model: String?
    @Option(help: "Text prompt (one image; use with --out).") var prompt: String?
    @Option(help: "Prompt file (.txt, .jsonl or .csv, as for mdctl submit; use with --out-dir). Image i is <out-dir>/<i>.png, i from 0, zero-padded to 6 digits; its seed is the line's seed, else --seed + i.")
    var prompts: String?
    @Option(name: .customLong("negative-prompt"), help: "Negative prompt (used when --guidance > 1).") var negativePrompt: String?
    @Option(help: "Seed for the initial noise (torch.Generator-compatible).") var seed: UInt64 = 0
    @Option(help: "Denoising steps (1 for one-step models).") var steps: Int = 1
    @Option(help: "Classifier-free guidance scale; ≤ 1 disables guidance.") var guidance: Float = 0
    @Option(help: "Width in pixels (default: the model's native size).") var width: Int?
    @Option(help: "Height in pixels (default: the model's native size).") var height: Int?
    @Option(help: "Output PNG path (with --prompt).") var out: String?
    @Option(name: .customLong("out-dir"), help: "Output folder (with --prompts); created if missing.") var outDir: String?
    @Option(help: "Precision of the matrix products: fp32 (the default: render is the parity tool), bf16 (bf16 operands, fp32 sums; native on AVX512-BF16/AMX CPUs, emulated and slower elsewhere), or auto (bf16 where native).") var precision: PrecisionSetting?
    @Option(help: "Re-render the image a PNG of mdd describes (its prompt, negative prompt, seed, steps, guidance, size and precision; use with --out) and say whether the bytes match.")
    var from: String?
    @Flag(help: "Print per-stage timings as JSON (one line per image).") var json = false

    func validate() throws {
        if from != nil {
            guard prompt == nil, prompts == nil, out != nil else { throw ValidationError("--from takes --out (and no --prompt or --prompts)") }
            return
        }
        switch (prompt, prompts) {
        case (.some, .none): guard out != nil, outDir == nil else { throw ValidationError("--prompt takes --out (not --out-dir)") }
        case (.none, .some): guard outDir != nil, out == nil else { throw ValidationError("--prompts takes --out-dir (not --out)") }
        default: throw ValidationError("give exactly one of --prompt (with --out) or --prompts (with --out-dir)")
        }
    }

    func run() throws {
        let folder = try ModelLocator.resolve(model)
        if let from, let out { return try RenderAgain(png: from, out: out, model: model).run() }
        let engine = try reportingEngineErrors { try TextToImage(folder: folder, precision: (precision ?? .fp32).resolved) }
        if let blas = try? BLAS.get() {
            FileHandle.standardError.write(Data("mdd: \(engine.precision.rawValue) products: \(EngineBackend.describe(precision: engine.precision, blas: blas)), \(blas.threads) threads\n".utf8))
        }
        if let prompt, let out {
            if let problem = PromptText.problem(prompt) ?? negativePrompt.flatMap({ PromptText.problem($0, field: "--negative-prompt") }) {
                throw CommandFailure(message: problem)
            }
            try renderOne(engine, prompt: prompt, negative: negativePrompt, seed: seed, steps: steps, guidance: guidance,
                          width: width, height: height, to: out)
        } else if let prompts, let outDir {
            try renderFile(engine, prompts, into: outDir)
        }
    }

    private func renderFile(_ engine: TextToImage, _ path: String, into dir: String) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let file: PromptFile
        do { file = try PromptFile(path: path) } catch { throw CommandFailure(message: "\(error)") }
        var index = 0
        do {
            try file.forEach { line, job in
                defer { index += 1 }
                if let problem = PromptText.problem(job.prompt) ?? job.negativePrompt.flatMap({ PromptText.problem($0, field: "negative_prompt") }) {
                    throw CommandFailure(message: "\(path):\(line): \(problem)")
                }
                let jobSeed: UInt64
                if let own = job.seed {
                    guard let s = UInt64(exactly: own) else { throw CommandFailure(message: "\(path):\(line): seed \(own) is negative") }
                    jobSeed = s
                } else {
                    let (derived, overflow) = seed.addingReportingOverflow(UInt64(index))
                    guard !overflow else {
                        throw CommandFailure(message: "\(path):\(line): --seed \(seed) + line index \(index) exceeds \(UInt64.max)")
                    }
                    jobSeed = derived
                }
                try renderOne(engine, prompt: job.prompt, negative: job.negativePrompt ?? negativePrompt, seed: jobSeed,
                              steps: job.steps ?? steps, guidance: job.guidance.map(Float.init) ?? guidance,
                              width: job.width ?? width, height: job.height ?? height,
                              to: dir + "/" + String(format: "%06d.png", index))
            }
        } catch let error as PromptFile.ParseError {
            throw CommandFailure(message: "\(error)")
        }
    }

    private func renderOne(_ engine: TextToImage, prompt: String, negative: String?, seed: UInt64, steps: Int, guidance: Float,
                           width: Int?, height: Int?, to out: String) throws {
        let request = RenderRequest(prompt: prompt, negativePrompt: negative, seed: seed, steps: steps, guidance: guidance,
                                    width: width, height: height)
        let image = try reportingEngineErrors { try engine.render(request) }
        try AtomicFile.write(image.png, to: out)
        if json {
            let data = try JSONEncoder().encode(image.timings)
            print(String(decoding: data, as: UTF8.self))
        } else {
            let t = image.timings
            print(String(format: "%@ (%dx%d, seed %llu) in %.0f ms: text %.0f, unet %.0f, decode %.0f, png %.0f",
                         out, image.width, image.height, seed, t.totalMs, t.tokenizeMs + t.textEncoderMs, t.unetMs, t.decodeMs, t.pngMs))
        }
    }
}

/// Finds the model folder: an explicit path, `MDD_MODEL`, or the embedded default model.
enum ModelLocator {
    static let embeddedName = "shapes-md"

    static func resolve(_ explicit: String?) throws -> String {
        if let explicit { return explicit }
        if let env = ProcessInfo.processInfo.environment["MDD_MODEL"], !env.isEmpty { return env }
        for candidate in defaultCandidates() where FileManager.default.fileExists(atPath: candidate + "/model_index.json") {
            return candidate
        }
        throw CommandFailure(message: "no model given and the embedded model was not found (looked in \(defaultCandidates().joined(separator: ", "))); pass --model DIR")
    }

    /// The installed location, then the repository's models/ beside the executable's build folder.
    static func defaultCandidates() -> [String] {
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        var out = ["/usr/local/share/mdd/models/\(embeddedName)", "/usr/share/mdd/models/\(embeddedName)"]
        var dir = exe
        for _ in 0..<5 {
            out.append(dir.appendingPathComponent("models/\(embeddedName)").path)
            dir = dir.deletingLastPathComponent()
        }
        return out
    }
}
