import Foundation

/// A bf16 copy of a constant fp32 matrix (a layer's weights), made once on its first bf16 product and kept, so
/// renders do not round the same weights again on every call. Same layout and row stride as the fp32 storage.
public final class BF16Copy: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: UnsafeMutablePointer<UInt16>?
    private var count = 0

    public init() {}

    /// A copy made now from `source` (a layer that keeps bf16 weights only).
    init(of source: [Float]) {
        count = source.count
        let p = UnsafeMutablePointer<UInt16>.allocate(capacity: max(count, 1))
        source.withUnsafeBufferPointer { OneDNN.toBF16($0.baseAddress!, p, count: count) }
        storage = p
    }

    /// The bf16 copy of `source` (`count` floats), made on first use; later calls must pass the same matrix.
    func pointer(_ source: UnsafePointer<Float>, count: Int) -> UnsafePointer<UInt16> {
        lock.lock()
        defer { lock.unlock() }
        if let storage { precondition(self.count == count, "BF16Copy reused for another matrix"); return UnsafePointer(storage) }
        let p = UnsafeMutablePointer<UInt16>.allocate(capacity: max(count, 1))
        OneDNN.toBF16(source, p, count: count)
        storage = p
        self.count = count
        return UnsafePointer(p)
    }

    /// The bf16 values, when made (always for a copy made at load).
    var values: UnsafePointer<UInt16>? { lock.withLock { storage.map { UnsafePointer($0) } } }

    /// Bytes held (0 until a bf16 product has used it).
    public var bytes: Int { lock.withLock { 2 * count } }

    deinit { storage?.deallocate() }
}

/// The calling thread's bf16 operand buffers for `GEMM`'s native bf16 path, kept across calls.
final class BF16Scratch {
    var a = UnsafeMutablePointer<UInt16>.allocate(capacity: 1), aCount = 1
    var b = UnsafeMutablePointer<UInt16>.allocate(capacity: 1), bCount = 1

    static func current() -> BF16Scratch {
        let key = "mdd.engine.bf16-scratch"
        if let s = Thread.current.threadDictionary[key] as? BF16Scratch { return s }
        let s = BF16Scratch()
        Thread.current.threadDictionary[key] = s
        return s
    }

    func reserve(a countA: Int, b countB: Int) {
        if countA > aCount { a.deallocate(); a = .allocate(capacity: countA); aCount = countA }
        if countB > bCount { b.deallocate(); b = .allocate(capacity: countB); bCount = countB }
    }

    deinit { a.deallocate(); b.deallocate() }
}

extension GEMM {
    /// The native bf16 product (oneDNN, AVX512-BF16 / AMX): operands rounded to bf16 exactly as the emulation rounds
    /// them (`BF16.round`), sums and output fp32. Constant operands come from their `BF16Copy`; the others are
    /// converted into the thread's buffers (packed, row stride = columns). The product is cut into the same
    /// shape-only blocks as `sgemm`, one single-threaded oneDNN call each on the engine's pool, so the result does
    /// not depend on the thread count.
    static func bf16Product(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
        constA: BF16Copy?, constB: BF16Copy?, splitFromFlops: Int
    ) {
        let (aRows, aCols) = transA ? (k, m) : (m, k)
        let (bRows, bCols) = transB ? (n, k) : (k, n)
        let scratch = BF16Scratch.current()
        scratch.reserve(a: constA == nil ? aRows * aCols : 0, b: constB == nil ? bRows * bCols : 0)
        // A constant operand keeps its stored row stride; a converted one is packed.
        let pa = constA?.pointer(a, count: (aRows - 1) * lda + aCols) ?? convert(a, rows: aRows, cols: aCols, ld: lda, into: scratch.a)
        let pb = constB?.pointer(b, count: (bRows - 1) * ldb + bCols) ?? convert(b, rows: bRows, cols: bCols, ld: ldb, into: scratch.b)
        let la = constA == nil ? aCols : lda, lb = constB == nil ? bCols : ldb
        bf16Blocks(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: pa, lda: la, b: pb, ldb: lb,
                   beta: beta, c: c, ldc: ldc, splitFromFlops: splitFromFlops)
    }

    /// C = alpha·op(A)·op(B) + beta·C on operands already in bf16 (row strides `lda`, `ldb`), cut into `blocks`
    /// (shape-only, as `sgemm`) and run as single-threaded oneDNN calls on the engine's pool. For kernels that
    /// produce their operands in bf16 themselves (Winograd's transforms); counted in `flops` and `nanoseconds`.
    static func bf16Product(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<UInt16>, lda: Int, b: UnsafePointer<UInt16>, ldb: Int, beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard m > 0, n > 0, k > 0, case .success(let blas) = BLAS.shared else { return }
        count(flops: 2 * m * n * k)
        let start = DispatchTime.now().uptimeNanoseconds
        bf16Blocks(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                   beta: beta, c: c, ldc: ldc, splitFromFlops: blas.splitFromFlops)
        countTime(since: start)
    }

    /// `serialProduct` on bf16 operands: one single-threaded oneDNN call on the calling thread (FLOPs counted).
    static func serialBF16Product(m: Int, n: Int, k: Int, a: UnsafePointer<UInt16>, lda: Int, b: UnsafePointer<UInt16>,
                                  ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int) {
        count(flops: 2 * m * n * k)
        do {
            try OneDNN.matmulBF16(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: a, lda: lda, b: b, ldb: ldb,
                                  beta: 0, c: c, ldc: ldc)
        } catch {
            fatalError("bf16 product \(m)x\(k)x\(n): \(error)")  // oneDNN always has a bf16 matmul; failing is a bug
        }
    }

    private static func bf16Blocks(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, a pa: UnsafePointer<UInt16>, lda la: Int,
        b pb: UnsafePointer<UInt16>, ldb lb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
        splitFromFlops: Int
    ) {
        let parts = blocks(m: m, n: n, k: k, splitFromFlops: splitFromFlops)
        let byRows = m >= n, length = byRows ? m : n
        let edge = { (i: Int) in min(length, (length * i / parts + 8) / 16 * 16) }
        Parallel.forEach(parts, threads: parts > 1 ? Parallel.threads : 1) { i in
            let lo = i == 0 ? 0 : edge(i), hi = i == parts - 1 ? length : edge(i + 1)
            guard hi > lo else { return }
            do {
                if byRows {
                    try OneDNN.matmulBF16(transA: transA, transB: transB, m: hi - lo, n: n, k: k, alpha: alpha,
                                          a: transA ? pa + lo : pa + lo * la, lda: la, b: pb, ldb: lb, beta: beta,
                                          c: c + lo * ldc, ldc: ldc)
                } else {
                    try OneDNN.matmulBF16(transA: transA, transB: transB, m: m, n: hi - lo, k: k, alpha: alpha, a: pa,
                                          lda: la, b: transB ? pb + lo * lb : pb + lo, ldb: lb, beta: beta, c: c + lo,
                                          ldc: ldc)
                }
            } catch {
                fatalError("bf16 product \(m)x\(k)x\(n): \(error)")  // oneDNN always has a bf16 matmul; failing is a bug
            }
        }
    }

    /// rows × cols floats at `src` (row stride `ld`) → packed bf16 at `dst`, split over the engine's threads.
    private static func convert(_ src: UnsafePointer<Float>, rows: Int, cols: Int, ld: Int,
                                into dst: UnsafeMutablePointer<UInt16>) -> UnsafePointer<UInt16> {
        if ld == cols {
            Parallel.forSlices(rows, work: rows * cols, minWork: 1 << 16) { r in
                OneDNN.toBF16(src + r.lowerBound * cols, dst + r.lowerBound * cols, count: r.count * cols)
            }
        } else {
            Parallel.forSlices(rows, work: rows * cols, minWork: 1 << 16) { r in
                for row in r { OneDNN.toBF16(src + row * ld, dst + row * cols, count: cols) }
            }
        }
        return UnsafePointer(dst)
    }
}
