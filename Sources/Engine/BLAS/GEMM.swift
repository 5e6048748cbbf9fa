import Foundation
import Dispatch
import Synchronization

/// The one GEMM entry point: every matrix product of the engine (linear, 1x1/3x3 conv, attention) goes here.
///
/// Row-major: C[m, n] = alpha * op(A)[m, k] · op(B)[k, n] + beta * C, with op(X) = X or Xᵀ.
public enum GEMM {
    /// Nominal multiply-add FLOPs (2·m·n·k through `sgemm`, and a direct convolution's count for Winograd layers)
    /// since the process started; read by benchmarks. Process-wide: while several threads render, a difference of
    /// two reads includes the others' products (exact for one rendering thread).
    public static var flops: Int {
        get { flopCounter.load(ordering: .relaxed) }
        set { flopCounter.store(newValue, ordering: .relaxed) }
    }
    /// Wall-clock nanoseconds spent inside sgemm since the process started (benchmarks: a stage's time minus this
    /// is what its non-GEMM kernels cost). Process-wide like `flops`.
    public static var nanoseconds: UInt64 {
        get { nanosecondCounter.load(ordering: .relaxed) }
        set { nanosecondCounter.store(newValue, ordering: .relaxed) }
    }
    /// Atomic: the daemon's workers multiply at the same time (plain statics were a data race ThreadSanitizer found).
    private static let flopCounter = Atomic<Int>(0)
    private static let nanosecondCounter = Atomic<UInt64>(0)

    /// Adds a product's (or a convolution's) FLOPs to `flops`.
    static func count(flops n: Int) { flopCounter.wrappingAdd(n, ordering: .relaxed) }

    /// Adds the nanoseconds since `start` (an uptime in ns) to `nanoseconds`.
    static func countTime(since start: UInt64) {
        nanosecondCounter.wrappingAdd(DispatchTime.now().uptimeNanoseconds &- start, ordering: .relaxed)
    }
    /// Adds nanoseconds spent in products to `nanoseconds` (kernels that run products on several threads at once
    /// add their per-thread average, the wall time the products took).
    static func count(nanoseconds n: UInt64) { nanosecondCounter.wrappingAdd(n, ordering: .relaxed) }

    /// One product as one single-threaded library call on the calling thread, never split: for kernels that split
    /// their own work over the engine's threads in blocks whose shape depends on the layer only (Winograd's groups
    /// of tile rows). FLOPs are counted, time is not (the caller adds its share with `count(nanoseconds:)`).
    static func serialProduct(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                              c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard case .success(let blas) = BLAS.shared else { fatalError("GEMM called without OpenBLAS") }
        count(flops: 2 * m * n * k)
        call(blas, transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: a, lda: lda, b: b, ldb: ldb, beta: 0,
             c: c, ldc: ldc)
    }

    /// Whether bf16 products run natively (`OneDNN.nativeBF16`); tests turn it off to compare with the emulation.
    nonisolated(unsafe) static var nativeBF16 = OneDNN.nativeBF16


    /// Row-major sgemm through OpenBLAS. `lda`, `ldb`, `ldc` are row strides of A, B, C as stored.
    ///
    /// Inside `BF16.with(.bf16)` the operands are rounded to bf16 and summed in fp32: natively through oneDNN where the
    /// CPU multiplies bf16 (`OneDNN.nativeBF16`), else emulated (rounded copies, then this fp32 product). `constA` /
    /// `constB` mark an operand as a layer's constant weights, whose bf16 copy is made once and kept.
    @inline(__always)
    public static func sgemm(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int, constA: BF16Copy? = nil, constB: BF16Copy? = nil
    ) {
        guard m > 0, n > 0 else { return }
        if k > 0 && BF16.isActive && nativeBF16, case .success(let blas) = BLAS.shared {
            count(flops: 2 * m * n * k)
            let start = DispatchTime.now().uptimeNanoseconds
            bf16Product(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                        beta: beta, c: c, ldc: ldc, constA: constA, constB: constB, splitFromFlops: blas.splitFromFlops)
            countTime(since: start)
            return
        }
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
        count(flops: 2 * m * n * k)
        if k == 0 {
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : c[i * ldc + j] * beta } }
            return
        }
        let blas: BLAS
        switch BLAS.shared {
        case .success(let b): blas = b
        case .failure(let e): fatalError("GEMM called without OpenBLAS: \(e)")
        }
        let start = DispatchTime.now().uptimeNanoseconds
        let parts = blocks(m: m, n: n, k: k, splitFromFlops: blas.splitFromFlops)
        if parts > 1 {
            split(parts, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b,
                  ldb: ldb, beta: beta, c: c, ldc: ldc, blas: blas)
        } else {
            call(blas, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b,
                 ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
        countTime(since: start)
    }

    /// How many blocks `sgemm` cuts a product into: a function of its shape alone, never of the thread count, so a
    /// render is bit-identical however many threads run it (each block is one single-threaded OpenBLAS call, and
    /// OpenBLAS picks its small-matrix and "direct" kernels by a call's size: with one block per thread, 3 threads
    /// drew 6 of the 16 sample prompts one level off somewhere). 2 blocks from `splitFromFlops` (2^20), 4 from 8×,
    /// 8 from 64× (every block ≥ 2^21 FLOPs, so a 2-thread render pays little per extra call), at least 16 rows or
    /// columns each; the blocks go to the pool's threads as they free up.
    static func blocks(m: Int, n: Int, k: Int, splitFromFlops: Int) -> Int {
        let flops = 2 * m * n * k
        let wanted = flops < splitFromFlops ? 1 : flops < 8 * splitFromFlops ? 2 : flops < 64 * splitFromFlops ? 4 : 8
        return max(1, min(wanted, max(m, n) / 16))
    }

    /// C in `parts` blocks of rows (when m ≥ n) or columns, one single-threaded sgemm each on the engine's pool.
    /// Inner block edges fall on multiples of 16 (OpenBLAS's micro-tiles are 16 wide or less), so only the last
    /// block can have a ragged tail, as the whole product would. A block may still sum in another order than the
    /// whole (below ~10⁶–7·10⁶ multiply-adds OpenBLAS switches to its small-matrix or direct kernels), which is
    /// why the blocks depend on the shape only (`blocks`).
    private static func split(
        _ parts: Int, transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>,
        lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, blas: BLAS
    ) {
        let byRows = m >= n
        let length = byRows ? m : n
        let edge = { (i: Int) in min(length, (length * i / parts + 8) / 16 * 16) }
        Parallel.forEach(parts) { i in
            let lo = i == 0 ? 0 : edge(i), hi = i == parts - 1 ? length : edge(i + 1)
            guard hi > lo else { return }
            if byRows {
                // Rows lo..<hi of C take rows lo..<hi of op(A).
                call(blas, transA: transA, transB: transB, m: hi - lo, n: n, k: k, alpha: alpha,
                     a: transA ? a + lo : a + lo * lda, lda: lda, b: b, ldb: ldb, beta: beta, c: c + lo * ldc, ldc: ldc)
            } else {
                // Columns lo..<hi of C take columns lo..<hi of op(B).
                call(blas, transA: transA, transB: transB, m: m, n: hi - lo, k: k, alpha: alpha, a: a, lda: lda,
                     b: transB ? b + lo * ldb : b + lo, ldb: ldb, beta: beta, c: c + lo, ldc: ldc)
            }
        }
    }

    @inline(__always)
    private static func call(
        _ blas: BLAS, transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>,
        lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if fp32Backend == .onednn, (try? OneDNN.matmulF32(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a,
                                                          lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)) != nil {
            return
        }
        // CBLAS enums: RowMajor = 101, NoTrans = 111, Trans = 112.
        blas.sgemm(101, transA ? 112 : 111, transB ? 112 : 111, Int32(m), Int32(n), Int32(k), alpha,
                   a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
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
