import Engine
import Foundation

/// `mdd render --from PNG --out NEW`: renders again what a PNG of mdd records in its text chunks (prompt, negative
/// prompt, seed, steps, guidance, size, precision) and compares the bytes. On the same build and machine they match;
/// a different model (its SHA-256 is recorded too) is said before rendering.
struct RenderAgain {
    let png: String
    let out: String
    let model: String?

    func run() throws {
        guard let data = FileManager.default.contents(atPath: png) else { throw CommandFailure(message: "\(png): cannot read the file") }
        let original = [UInt8](data)
        let text = Dictionary(PNGCodec.textChunks(original), uniquingKeysWith: { first, _ in first })
        let request = try Self.request(from: text, path: png)
        let precisionName = text["precision"] ?? Precision.fp32.rawValue
        guard let precision = Precision(rawValue: precisionName) else {
            throw CommandFailure(message: "\(png): text chunk 'precision' is '\(precisionName)', not fp32 or bf16")
        }
        // fp32 sums are those of the backend the PNG names (OpenBLAS unless it says otherwise).
        GEMM.fp32Backend = GEMM.FP32Backend(rawValue: text["fp32_backend"] ?? "") ?? .openblas
        // A bf16 render ran Winograd's products in bf16 unless it records otherwise (MDD_WINOGRAD_BF16=0).
        PrecisionSetting.winogradBF16 = text["winograd"] != "fp32"
        let engine = try reportingEngineErrors { try TextToImage(folder: try ModelLocator.resolve(model), precision: precision) }
        if let sha = text["model_sha256"], sha != engine.weightsSHA256 {
            FileHandle.standardError.write(Data("mdd: \(png) was rendered by model \(sha.prefix(16))…, this is \(engine.weightsSHA256.prefix(16))…: the image will differ\n".utf8))
        }
        let image = try reportingEngineErrors { try engine.render(request) }
        try AtomicFile.write(image.png, to: out)
        let same = image.png == original
        print("\(out): \(precision.rawValue), seed \(request.seed), \(image.width)x\(image.height): \(same ? "identical to" : "differs from") \(png)")
        if !same { throw CommandFailure(message: "the re-rendered image differs from \(png) (another build, machine or model?)") }
    }

    /// The render request a PNG's text chunks describe; errors name the chunk.
    static func request(from text: [String: String], path: String) throws -> RenderRequest {
        func field<T>(_ key: String, _ parse: (String) -> T?) throws -> T {
            guard let raw = text[key] else { throw CommandFailure(message: "\(path): no '\(key)' text chunk (not a PNG of mdd?)") }
            guard let v = parse(raw) else { throw CommandFailure(message: "\(path): text chunk '\(key)' has an invalid value '\(raw)'") }
            return v
        }
        return RenderRequest(prompt: try field("prompt") { $0 }, negativePrompt: text["negative_prompt"],
                             seed: try field("seed") { UInt64($0) }, steps: try field("steps") { Int($0) },
                             guidance: try field("guidance") { Float($0) }, width: try field("width") { Int($0) },
                             height: try field("height") { Int($0) })
    }
}
