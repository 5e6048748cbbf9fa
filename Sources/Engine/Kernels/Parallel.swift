import CKernels
import Foundation

/// Splits the engine's kernels — GEMMs, direct convolutions, GroupNorm, element-wise ops, resampling, Winograd
/// transforms — over the render's threads, on the calling thread's own spinning pool (`ckernels_pool_run`).
///
/// Each slice is computed by exactly one thread with the same code as the serial path, so these kernels' results
/// are bit-identical for any thread count. GEMMs too: their blocks depend on the product's shape alone
/// (`GEMM.blocks`), since OpenBLAS chooses its small-matrix and "direct" kernels by a call's size.
/// A job costs ~1 µs to hand out while the helpers spin (GCD's parked workers took 20–100 µs to wake on a VM,
/// which kept every 16×16-latent kernel serial and 2 threads ~1.1× one).
enum Parallel {
    /// The engine's thread budget per render (`BLAS.threads`: 1 per worker in `mdd serve --workers N`).
    static var threads: Int { (try? BLAS.get().threads) ?? 1 }

    /// Work (elements touched) from which a kernel is split. Measured with `mdd bench` on the default model, 2 threads
    /// (total ms, median of 5 interleaved runs): 4,096 → 36.8, 16,384 → 37.8, 65,536 → 38.5, 524,288 → 41.9 (the
    /// GCD-era value); 1,024 → 36.6, no better. Override with MDD_SPLIT_MIN_WORK (tuning).
    static let minWork: Int = {
        if let s = ProcessInfo.processInfo.environment["MDD_SPLIT_MIN_WORK"], let v = Int(s), v > 0 { return v }
        return 1 << 12
    }()

    /// Calls body with contiguous slices of 0..<count, one per thread when `work` is at least `minWork`, else once
    /// with the whole range.
    static func forSlices(_ count: Int, work: Int, minWork: Int = Parallel.minWork, _ body: (Range<Int>) -> Void) {
        let n = work >= minWork ? min(threads, count) : 1
        guard n > 1 else { return body(0..<count) }
        forEach(n) { i in body(count * i / n..<count * (i + 1) / n) }
    }

    /// Calls body(i) for every i in 0..<n, spread over `threads` threads of the calling thread's pool (the render's
    /// budget unless given); returns when all are done.
    static func forEach(_ n: Int, threads: Int = Parallel.threads, _ body: (Int) -> Void) {
        withoutActuallyEscaping(body) { body in
            var task = body
            withUnsafeMutablePointer(to: &task) { ctx in
                ckernels_pool_run(Int32(threads), n, { ctx, i in
                    ctx!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(i)
                }, ctx)
            }
        }
    }
}
