import Engine

/// One-line descriptions of what multiplies the engine's matrices, for `mdd bench`, the daemon's log and
/// `mdctl health`.
enum EngineBackend {
    /// "OpenBLAS Haswell" for fp32; "oneDNN brg:avx512_core_bf16" for native bf16; the emulation says so.
    static func describe(precision: Precision, blas: BLAS) -> String {
        switch precision {
        case .fp32 where GEMM.fp32Backend == .onednn: return "oneDNN f32 (\(OneDNN.isa)); \(GEMM.fp32BackendReason)"
        case .fp32: return "OpenBLAS \(blas.coreName) (\(GEMM.fp32BackendReason))"
        case .bf16 where PrecisionSetting.nativeBF16: return "oneDNN \(OneDNN.bf16Implementation() ?? "bf16")"
        case .bf16: return "bf16 emulated on OpenBLAS \(blas.coreName) (no avx512_bf16/amx_bf16: slower than fp32)"
        }
    }

    /// "2.6.3, isa avx512_core_bf16, native bf16" or "not available".
    static var onednnSummary: String {
        guard let v = OneDNN.version else { return "not available" }
        return "\(v), isa \(OneDNN.isa), \(PrecisionSetting.nativeBF16 ? "native bf16" : "no native bf16")"
    }
}
