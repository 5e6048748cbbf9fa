import CKernels
import Foundation

extension Winograd {
    /// `convolve` with native bf16 products (oneDNN, AVX512-BF16 / AMX): U and V rounded to bf16 — V by the input
    /// transform as it stores it, so no fp32 V is written and converted again — the 36 products with fp32 sums into
    /// M, and the output transform in fp32. Same rounding as the emulated path (`GEMM.sgemm` inside `BF16.with(.bf16)`
    /// rounds U and V the same way); only the summation order of the products differs.
    ///
    /// Scratch, one band: [U fp32 when made per call][M: 36·cout·tiles fp32][V: 36·cin·tiles bf16][U bf16 per call].
    static func convolveBF16(_ src: UnsafePointer<Float>, cin: Int, h: Int, w: Int, u precomputed: UnsafePointer<Float>?,
                             uBF16: BF16Copy?, weight: UnsafePointer<Float>, cout: Int, bias: [Float]?,
                             prologue: UnsafePointer<ckernels_prologue>?, _ dst: UnsafeMutablePointer<Float>) {
        let tilesW = (w + 3) / 4, tilesH = (h + 3) / 4
        let bandRows = max(1, min(tilesH, Scratch.bandFloats / max(1, 36 * (cin + cout) * tilesW)))
        let uCount = 36 * cout * cin, perCall = precomputed == nil || uBF16 == nil
        let mCount = 36 * cout * bandRows * tilesW, vCount = 36 * cin * bandRows * tilesW
        let halves = vCount + (perCall ? uCount : 0)
        Scratch.with((perCall ? uCount : 0) + mCount + (halves + 1) / 2 + 64) { scratch in
            let uFloat = scratch, m = scratch + (perCall ? uCount : 0)
            (m + mCount).withMemoryRebound(to: UInt16.self, capacity: halves) { vh in
                let u = perCall ? UnsafePointer(vh + vCount) : uBF16!.pointer(precomputed!, count: uCount)
                if perCall { roundedU(precomputed, weight: weight, cout: cout, cin: cin, fp32: uFloat, into: vh + vCount) }
                var t0 = 0
                while t0 < tilesH {
                    let rows = min(bandRows, tilesH - t0), tiles = rows * tilesW
                    Parallel.forSlices(cin, work: cin * tiles * 16) { s in
                        transformInputBF16(src, channels: s, cin: cin, h: h, w: w, tileRow0: t0, rows: rows, tilesW: tilesW,
                                           prologue: prologue, v: vh)
                    }
                    for k in 0..<36 {
                        GEMM.bf16Product(m: cout, n: tiles, k: cin, a: u + k * cout * cin, lda: cin, b: vh + k * cin * tiles,
                                         ldb: tiles, c: m + k * cout * tiles, ldc: tiles)
                    }
                    outputBand(m, cout: cout, h: h, w: w, tileRow0: t0, rows: rows, tilesW: tilesW, bias: bias, dst: dst)
                    t0 += rows
                }
            }
        }
        GEMM.count(flops: 18 * cout * cin * h * w - 72 * cout * cin * tilesW * tilesH)
    }

    /// U in bf16 for a layer without a kept bf16 U: transformed here from the weights (or taken from `precomputed`),
    /// then rounded, split over the engine's threads.
    private static func roundedU(_ precomputed: UnsafePointer<Float>?, weight: UnsafePointer<Float>, cout: Int, cin: Int,
                                 fp32: UnsafeMutablePointer<Float>, into uh: UnsafeMutablePointer<UInt16>) {
        let count = 36 * cout * cin
        let source = precomputed ?? UnsafePointer(fp32)
        if precomputed == nil {
            Parallel.forSlices(cout, work: 16 * cout * cin) { transformKernel(weight, cout: cout, cin: cin, outputs: $0, u: fp32) }
        }
        Parallel.forSlices(36 * cout, work: count, minWork: 1 << 16) { r in
            OneDNN.toBF16(source + r.lowerBound * cin, uh + r.lowerBound * cin, count: r.count * cin)
        }
    }

    /// V rounded to bf16 for channels `channels` of one band: the AVX2 transform stores bf16 directly; without it
    /// (never on a CPU with native bf16, which has AVX-512) the Swift transform's fp32 V is rounded per channel.
    private static func transformInputBF16(_ src: UnsafePointer<Float>, channels: Range<Int>, cin: Int, h: Int, w: Int,
                                           tileRow0: Int, rows: Int, tilesW: Int, prologue: UnsafePointer<ckernels_prologue>?,
                                           v: UnsafeMutablePointer<UInt16>) {
        guard ckernels_winograd_input_bf16(src, Int32(channels.lowerBound), Int32(channels.upperBound), Int32(cin), Int32(h),
                                           Int32(w), Int32(tileRow0), Int32(rows), Int32(tilesW), prologue, v) != 0 else { return }
        let tiles = rows * tilesW
        var full = [Float](repeating: 0, count: 36 * cin * tiles)
        full.withUnsafeMutableBufferPointer { f in
            transformInput(src, channels: channels, cin: cin, h: h, w: w, tileRow0: tileRow0, rows: rows, tilesW: tilesW,
                           prologue: prologue, v: f.baseAddress!)
            for k in 0..<36 {
                let at = (k * cin + channels.lowerBound) * tiles
                OneDNN.toBF16(f.baseAddress! + at, v + at, count: channels.count * tiles)
            }
        }
    }
}
