import Engine
import Foundation
import Logging

/// How `mdd serve` settles its precision: `fp32` and `bf16` as given (bf16 without native support is the emulation,
/// said once in the log); `auto` measures. Where the CPU multiplies bf16 natively, one image is rendered in each
/// precision with every core (after a warm-up each) and bf16 is kept only if it is at least 5 % faster: on a small
/// model the products are small and bf16's gain is modest (~15 % on the default model here), on a large one it wins
/// by far. The engine is then loaded afresh in the chosen precision, so a bf16 daemon holds bf16 weights only.
enum PrecisionChoice {
    /// bf16 must beat fp32 by this factor to be chosen.
    static let margin = 0.95

    /// The engine for `folder` in the precision `setting` asks for. What is measured — the fp32 backend, and for
    /// `auto` the precision — is kept in `<stateDir>/engine-choice.json` and reused on later starts with the same CPU
    /// and model files (`EngineChoiceFile`), so a restart does not switch numerics halfway through a batch.
    static func load(folder: String, setting: PrecisionSetting, stateDir: String, log: Logger) throws -> TextToImage {
        let path = EngineChoiceFile.path(stateDir: stateDir)
        var file = keepFP32Backend(from: EngineChoiceFile.load(path), path: path)
        log.info("fp32 products: \(GEMM.fp32Backend.rawValue)", metadata: ["why": "\(GEMM.fp32BackendReason)"])
        defer {
            do { try file.save(path) } catch { log.warning("cannot save the engine choices", metadata: ["path": "\(path)", "error": "\(error)"]) }
        }
        switch setting {
        case .fp32:
            return try TextToImage(folder: folder, precision: .fp32)
        case .bf16:
            if !PrecisionSetting.nativeBF16 {
                log.warning("precision bf16 is emulated on this CPU (oneDNN isa \(OneDNN.isa), no avx512_bf16/amx_bf16): bf16 numerics, slower than fp32")
            }
            return try TextToImage(folder: folder, precision: .bf16)
        case .auto:
            guard PrecisionSetting.nativeBF16 else {
                log.info("precision auto: fp32", metadata: ["why": "no native bf16 (oneDNN isa \(OneDNN.isa))"])
                return try TextToImage(folder: folder, precision: .fp32)
            }
            let model = EngineChoiceFile.modelSignature(folder: folder)
            if file.model == model, let kept = file.precision.flatMap(Precision.init(rawValue:)) {
                log.info("precision auto: \(kept.rawValue)", metadata: ["why": "kept from \(path) (delete it to measure again): \(file.precisionReason ?? "")"])
                return try TextToImage(folder: folder, precision: kept)
            }
            let (chosen, why) = try measure(folder: folder)
            log.info("precision auto: \(chosen.rawValue)", metadata: ["why": "\(why)"])
            (file.model, file.precision, file.precisionReason) = (model, chosen.rawValue, why)
            return try TextToImage(folder: folder, precision: chosen)
        }
    }

    /// The fp32 backend a valid file names, unless `MDD_FP32_BACKEND` says otherwise; without a valid file, this
    /// process's measured choice as a new one (a file of another CPU is replaced, precision and all).
    private static func keepFP32Backend(from file: EngineChoiceFile?, path: String) -> EngineChoiceFile {
        let forced = ProcessInfo.processInfo.environment["MDD_FP32_BACKEND"].flatMap(GEMM.FP32Backend.init(rawValue:))
        if let file {
            // An override is this process's own: the file keeps what was measured.
            guard forced == nil, let kept = GEMM.FP32Backend(rawValue: file.fp32Backend) else { return file }
            GEMM.fp32Backend = kept
            GEMM.fp32BackendReason = "kept from \(path): \(file.fp32BackendReason)"
            return file
        }
        return EngineChoiceFile(cpu: EngineChoiceFile.cpuSignature, fp32Backend: GEMM.fp32Backend.rawValue,
                                fp32BackendReason: GEMM.fp32BackendReason)
    }

    /// The faster precision for one image with every core, and the measurement that says so.
    static func measure(folder: String) throws -> (Precision, String) {
        let engine = try TextToImage(folder: folder, embeddingCacheBytes: 0)
        let blas = try BLAS.get()
        let saved = blas.threads
        blas.threads = ProcessInfo.processInfo.activeProcessorCount
        defer { blas.threads = saved }
        var seconds: [Precision: Double] = [:]
        for precision in [Precision.fp32, .bf16] {
            engine.precision = precision
            _ = try engine.render(RenderRequest(prompt: "a red circle", seed: 0, steps: 1))  // warm-up (page faults, bf16 copies)
            let start = Date()
            _ = try engine.render(RenderRequest(prompt: "a blue square", seed: 1, steps: 1))
            seconds[precision] = Date().timeIntervalSince(start)
        }
        let fp32 = seconds[.fp32]!, bf16 = seconds[.bf16]!
        let chosen: Precision = bf16 <= margin * fp32 ? .bf16 : .fp32
        return (chosen, String(format: "one image with %d threads: fp32 %.1f ms, bf16 %.1f ms (%.2fx); bf16 is kept when ≥ %.0f%% faster",
                               blas.threads, fp32 * 1000, bf16 * 1000, fp32 / bf16, (1 - margin) * 100))
    }
}
