import ArgumentParser
import Engine
import Foundation

/// `mdd render`: one prompt → one PNG, with diffusers' pipeline defaults where one applies.
struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "render", abstract: "Render one image to a PNG file.")

    @Option(help: "diffusers-format model folder (default: the embedded model).") var model: String?
    @Option(help: "Text prompt.") var prompt: String
    @Option(name: .customLong("negative-prompt"), help: "Negative prompt (used when --guidance > 1).") var negativePrompt: String?
    @Option(help: "Seed for the initial noise (torch.Generator-compatible).") var seed: UInt64 = 0
    @Option(help: "Denoising steps (1 for one-step models).") var steps: Int = 1
    @Option(help: "Classifier-free guidance scale; ≤ 1 disables guidance.") var guidance: Float = 0
    @Option(help: "Width in pixels (default: the model's native size).") var width: Int?
    @Option(help: "Height in pixels (default: the model's native size).") var height: Int?
    @Option(help: "Output PNG path.") var out: String
    @Flag(help: "Print per-stage timings as JSON.") var json = false

    func run() throws {
        let folder = try ModelLocator.resolve(model)
        let engine = try reportingEngineErrors { try TextToImage(folder: folder) }
        if let blas = try? BLAS.get() {
            FileHandle.standardError.write(Data("mdd: BLAS kernel OpenBLAS \(blas.coreName) (\(blas.coreSource)), \(blas.threads) threads\n".utf8))
        }
        let request = RenderRequest(prompt: prompt, negativePrompt: negativePrompt, seed: seed, steps: steps,
                                    guidance: guidance, width: width, height: height)
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
