import CDNNL
import Foundation

/// oneDNN (Debian's libdnnl 2.6), the engine's backend for bf16 products on CPUs that multiply bf16 natively
/// (AVX512-BF16, AMX). Every call runs single-threaded on the calling thread; `GEMM` splits a product over the
/// engine's pool as it does for OpenBLAS (see `Sources/CDNNL/include/cdnnl.h` for why).
public enum OneDNN {
    /// The library's version ("2.6.3"), or nil when it could not create a CPU engine.
    public static let version: String? = cdnnl_version().map { String(cString: $0) }

    /// The instruction set oneDNN's kernels use here ("avx512_core_amx", "avx512_core_bf16", "avx2", …).
    public static let isa: String = String(cString: cdnnl_isa())

    /// Whether bf16 products run natively here: oneDNN loaded and its ISA is AVX512-BF16 or AMX, unless
    /// `MDD_BF16=emulate` asks for the fp32 emulation (tests compare both).
    public static let nativeBF16: Bool = {
        guard version != nil, cdnnl_has_native_bf16() != 0 else { return false }
        return ProcessInfo.processInfo.environment["MDD_BF16"] != "emulate"
    }()

    /// The implementation oneDNN picks for a bf16 product of this shape (packed operands), e.g.
    /// "brg:avx512_core_bf16"; nil if it has none. Reported by `mdd bench` and `mdctl health`.
    public static func bf16Implementation(m: Int = 4096, n: Int = 320, k: Int = 320) -> String? {
        cdnnl_matmul_impl(CDNNL_BF16, 0, 0, m, n, k, 1, k, n, 0, n).map { String(cString: $0) }
    }

    /// Primitives built so far (one per product shape; tests).
    public static var cachedPrimitives: Int { cdnnl_cached_primitives() }

    /// Row-major bf16 product on the calling thread: C[m, n] = alpha·op(A)·op(B) + beta·C, A and B bf16 as stored
    /// (A [k, m] when transA, B [n, k] when transB), C fp32. Throws `EngineError.blas` when oneDNN fails.
    public static func matmulBF16(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<UInt16>, lda: Int,
        b: UnsafePointer<UInt16>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) throws {
        try matmul(CDNNL_BF16, transA, transB, m, n, k, alpha, UnsafeRawPointer(a), lda, UnsafeRawPointer(b), ldb, beta, c, ldc)
    }

    /// fp32 product through oneDNN on the calling thread (same layout rules as `matmulBF16`).
    public static func matmulF32(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) throws {
        try matmul(CDNNL_F32, transA, transB, m, n, k, alpha, UnsafeRawPointer(a), lda, UnsafeRawPointer(b), ldb, beta, c, ldc)
    }

    private static func matmul(
        _ type: cdnnl_type, _ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
        _ a: UnsafeRawPointer, _ lda: Int, _ b: UnsafeRawPointer, _ ldb: Int, _ beta: Float, _ c: UnsafeMutablePointer<Float>,
        _ ldc: Int
    ) throws {
        let status = cdnnl_matmul(type, transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        if status != 0 { throw EngineError.blas(String(cString: cdnnl_last_error())) }
    }

    /// `count` floats to bf16, rounded to nearest even as `BF16.round` (AVX-512 where the CPU has it).
    public static func toBF16(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<UInt16>, count: Int) {
        cdnnl_f32_to_bf16(src, dst, count)
    }

    /// `count` bf16 values widened to fp32 (exact).
    public static func toF32(_ src: UnsafePointer<UInt16>, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        cdnnl_bf16_to_f32(src, dst, count)
    }
}
