import Foundation

extension BLAS {
    /// Measured GEMM throughput in GFLOP/s on square `size` matrices with the current thread count, through
    /// `GEMM.sgemm` as the engine calls it in `precision` (fp32: OpenBLAS's kernel on each of `threads` blocks; bf16:
    /// oneDNN's, or the emulation), best of several timed calls after a warm-up, about `seconds` in total. Leaves
    /// `GEMM.flops` and `GEMM.nanoseconds` as they were.
    public func measurePeakGFLOPS(size n: Int = 2048, seconds: Double = 1.0, precision: Precision = .fp32) -> Double {
        BF16.with(precision) { measurePeak(size: n, seconds: seconds) }
    }

    private func measurePeak(size n: Int, seconds: Double) -> Double {
        let a = [Float](repeating: 0.5, count: n * n), b = [Float](repeating: 0.25, count: n * n)
        var c = [Float](repeating: 0, count: n * n)
        var best = 0.0
        let deadline = Date().addingTimeInterval(seconds)
        var runs = 0
        let (flops, nanoseconds) = (GEMM.flops, GEMM.nanoseconds)
        defer { (GEMM.flops, GEMM.nanoseconds) = (flops, nanoseconds) }
        a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
            repeat {
                let start = DispatchTime.now().uptimeNanoseconds
                GEMM.sgemm(m: n, n: n, k: n, a: ap.baseAddress!, lda: n, b: bp.baseAddress!, ldb: n, c: cp.baseAddress!, ldc: n)
                let s = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                if runs > 0 { best = max(best, 2 * Double(n * n * n) / s / 1e9) }
                runs += 1
            } while Date() < deadline || runs < 3
        } } }
        return best
    }
}
