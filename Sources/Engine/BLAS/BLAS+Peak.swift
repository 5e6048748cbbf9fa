import Foundation

extension BLAS {
    /// Measured sgemm throughput in GFLOP/s on square `size` matrices with the current thread count
    /// (best of several timed calls after a warm-up, about `seconds` in total).
    public func measurePeakGFLOPS(size n: Int = 2048, seconds: Double = 1.0) -> Double {
        let a = [Float](repeating: 0.5, count: n * n), b = [Float](repeating: 0.25, count: n * n)
        var c = [Float](repeating: 0, count: n * n)
        var best = 0.0
        let deadline = Date().addingTimeInterval(seconds)
        var runs = 0
        // All configured threads: the last product the engine ran may have been a small one, which left OpenBLAS
        // on one thread (the probe then read a one-core peak, below what the UNet itself achieved).
        useThreads(forFlops: Int.max)
        a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
            repeat {
                let start = DispatchTime.now().uptimeNanoseconds
                sgemm(101, 111, 111, Int32(n), Int32(n), Int32(n), 1, ap.baseAddress, Int32(n), bp.baseAddress, Int32(n), 0, cp.baseAddress, Int32(n))
                let s = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                if runs > 0 { best = max(best, 2 * Double(n * n * n) / s / 1e9) }
                runs += 1
            } while Date() < deadline || runs < 3
        } } }
        return best
    }
}
