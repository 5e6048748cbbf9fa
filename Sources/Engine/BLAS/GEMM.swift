import Dispatch

/// The one GEMM entry point: every matrix product of the engine (linear, 1x1/3x3 conv, attention) goes here.
///
/// Row-major: C[m, n] = alpha * op(A)[m, k] · op(B)[k, n] + beta * C, with op(X) = X or Xᵀ.
public enum GEMM {
    /// Nominal multiply-add FLOPs (2·m·n·k through `sgemm`, and a direct convolution's count for Winograd layers)
    /// since the process started; read by benchmarks.
    nonisolated(unsafe) public static var flops: Int = 0
    /// Wall-clock nanoseconds spent inside sgemm since the process started (benchmarks: a stage's time minus this
    /// is what its non-GEMM kernels cost). Like `flops`, unsynchronised: exact for one rendering thread.
    nonisolated(unsafe) public static var nanoseconds: UInt64 = 0

    /// Row-major sgemm through OpenBLAS. `lda`, `ldb`, `ldc` are row strides of A, B, C as stored.
    @inline(__always)
    public static func sgemm(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        if k > 0 && BF16.isActive {
            // bf16 operands, fp32 accumulation (see `Precision`): round packed copies, then the fp32 product.
            let ra = transA ? BF16.roundedCopy(a, rows: k, cols: m, ld: lda) : BF16.roundedCopy(a, rows: m, cols: k, ld: lda)
            let rb = transB ? BF16.roundedCopy(b, rows: n, cols: k, ld: ldb) : BF16.roundedCopy(b, rows: k, cols: n, ld: ldb)
            BF16.without {
                ra.withUnsafeBufferPointer { pa in
                    rb.withUnsafeBufferPointer { pb in
                        sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: pa.baseAddress!,
                              lda: transA ? m : k, b: pb.baseAddress!, ldb: transB ? k : n, beta: beta, c: c, ldc: ldc)
                    }
                }
            }
            return
        }
        flops &+= 2 * m * n * k
        if k == 0 {
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] *= beta } }
            return
        }
        let blas: BLAS
        switch BLAS.shared {
        case .success(let b): blas = b
        case .failure(let e): fatalError("GEMM called without OpenBLAS: \(e)")
        }
        blas.useThreads(forFlops: 2 * m * n * k)
        let start = DispatchTime.now().uptimeNanoseconds
        // CBLAS enums: RowMajor = 101, NoTrans = 111, Trans = 112.
        blas.sgemm(101, transA ? 112 : 111, transB ? 112 : 111, Int32(m), Int32(n), Int32(k), alpha,
                   a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
        nanoseconds &+= DispatchTime.now().uptimeNanoseconds &- start
    }

    /// Naive reference for `sgemm` (triple loop, Double accumulation), used by tests.
    public static func naive(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        for i in 0..<m {
            for j in 0..<n {
                var acc = 0.0
                for p in 0..<k {
                    let av = transA ? a[p * lda + i] : a[i * lda + p]
                    let bv = transB ? b[j * ldb + p] : b[p * ldb + j]
                    acc += Double(av) * Double(bv)
                }
                let prior = beta == 0 ? 0 : beta * c[i * ldc + j]
                c[i * ldc + j] = alpha * Float(acc) + prior
            }
        }
    }
}
