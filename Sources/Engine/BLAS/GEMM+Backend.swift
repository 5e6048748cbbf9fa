import Foundation

extension GEMM {
    /// Which library multiplies fp32 blocks.
    public enum FP32Backend: String, Sendable { case openblas, onednn }

    /// The fp32 backend and why: `MDD_FP32_BACKEND=openblas|onednn` if set; else, where oneDNN's kernels use AVX-512,
    /// the faster of the two on a few single-threaded products of the engine's typical shapes (`FP32BackendChoice`);
    /// else OpenBLAS (AVX2 machines keep the path they had). A PNG rendered through oneDNN fp32 records it
    /// (`fp32_backend`), so a re-render can ask for the same sums.
    nonisolated(unsafe) public static var fp32Backend: FP32Backend = FP32BackendChoice.initial.backend

    /// How `fp32Backend` was chosen (logs, `mdd bench`, `mdctl health`); whoever sets `fp32Backend` says why here.
    nonisolated(unsafe) public static var fp32BackendReason: String = FP32BackendChoice.initial.reason
}

/// The start-up choice of the fp32 backend (see `GEMM.fp32Backend`).
enum FP32BackendChoice {
    /// oneDNN must be at least this much faster (time ratio) to be chosen: near a tie the choice could flip between
    /// runs, and the incumbent keeps the sums renders had before.
    static let margin = 0.9

    static let initial: (backend: GEMM.FP32Backend, reason: String) = choose()

    /// Products of the shapes that dominate renders: a 64×64 latent's 1×1 convs and projections, a 16×16 latent's
    /// feed-forward, a text encoder's rows.
    static let shapes: [(m: Int, n: Int, k: Int)] = [(4096, 320, 320), (256, 1280, 1280), (77, 768, 3072)]

    private static func choose() -> (GEMM.FP32Backend, String) {
        let env = ProcessInfo.processInfo.environment["MDD_FP32_BACKEND"] ?? ""
        if let forced = GEMM.FP32Backend(rawValue: env) { return (forced, "MDD_FP32_BACKEND=\(env)") }
        guard OneDNN.version != nil, OneDNN.isa.hasPrefix("avx512") else {
            return (.openblas, "oneDNN isa \(OneDNN.isa): not measured (no AVX-512)")
        }
        guard case .success(let blas) = BLAS.shared else { return (.onednn, "OpenBLAS unavailable") }
        let openblas = time { a, b, c, s in
            blas.sgemm(101, 111, 111, Int32(s.m), Int32(s.n), Int32(s.k), 1, a, Int32(s.k), b, Int32(s.n), 0, c, Int32(s.n))
        }
        let onednn = time { a, b, c, s in
            try? OneDNN.matmulF32(transA: false, transB: false, m: s.m, n: s.n, k: s.k, alpha: 1, a: a, lda: s.k, b: b,
                                  ldb: s.n, beta: 0, c: c, ldc: s.n)
        }
        let chosen: GEMM.FP32Backend = onednn <= margin * openblas ? .onednn : .openblas
        return (chosen, String(format: "measured: oneDNN %@ %.1f ms, OpenBLAS %@ %.1f ms on the engine's typical products (%.2fx)",
                               OneDNN.isa, onednn * 1000, blas.coreName, openblas * 1000, openblas / onednn))
    }

    /// Seconds for one pass over `shapes` on the calling thread, best of three after a warm-up.
    private static func time(_ product: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>,
                                         (m: Int, n: Int, k: Int)) -> Void) -> Double {
        var best = Double.infinity
        for run in 0..<4 {
            var total = 0.0
            for s in shapes {
                let a = [Float](repeating: 0.5, count: s.m * s.k), b = [Float](repeating: 0.25, count: s.k * s.n)
                var c = [Float](repeating: 0, count: s.m * s.n)
                let start = DispatchTime.now().uptimeNanoseconds
                c.withUnsafeMutableBufferPointer { product(a, b, $0.baseAddress!, s) }
                total += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            }
            if run > 0 { best = min(best, total) }
        }
        return best
    }
}
