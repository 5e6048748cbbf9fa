import Dispatch

/// Splits the engine's memory-bound kernels (GroupNorm, element-wise ops, resampling, Winograd transforms) over
/// the threads BLAS is allowed to use, so that a 2-thread render does not leave a core idle outside its GEMMs.
///
/// Each slice is computed by exactly one thread with the same code as the serial path, so results are
/// bit-identical for any thread count. Small tensors stay on the calling thread: waking a GCD worker costs
/// ~10–20 µs, more than a 16×16 latent's whole GroupNorm.
enum Parallel {
    /// The engine's thread budget: OpenBLAS's configured thread count (1 per worker in `mdd serve --workers N`).
    static var threads: Int { (try? BLAS.get().threads) ?? 1 }

    /// Work (elements touched) from which a kernel is split. Measured on the default model (128×128×16 tensors,
    /// 262k elements): splitting them made 2-thread renders slower (54–58 ms) than leaving them whole (44–46 ms);
    /// a 512² decoder's tensors (≥ 1M elements) gain from the split.
    static let minWork = 1 << 19

    /// Calls body with contiguous slices of 0..<count, one per thread when `work` is at least `minWork`, else once
    /// with the whole range.
    static func forSlices(_ count: Int, work: Int, minWork: Int = Parallel.minWork, _ body: (Range<Int>) -> Void) {
        let n = work >= minWork ? min(threads, count) : 1
        guard n > 1 else { return body(0..<count) }
        DispatchQueue.concurrentPerform(iterations: n) { i in body(count * i / n..<count * (i + 1) / n) }
    }
}
