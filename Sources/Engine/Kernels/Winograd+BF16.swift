import CKernels
import Foundation

/// The bf16 operands of Winograd's products (see `Winograd.convolve`): U rounded once, V stored in bf16 by the input
/// transform itself, so no fp32 V is written and converted again.
extension Winograd {
    /// U in bf16 for a layer without a kept bf16 U: transformed here from the weights (or taken from `precomputed`),
    /// then rounded, split over the engine's threads.
    static func roundedU(_ precomputed: UnsafePointer<Float>?, weight: UnsafePointer<Float>, cout: Int, cin: Int,
                         fp32: UnsafeMutablePointer<Float>, into uh: UnsafeMutablePointer<UInt16>) {
        let count = 36 * cout * cin
        let source = precomputed ?? UnsafePointer(fp32)
        if precomputed == nil { transformKernel(weight, cout: cout, cin: cin, into: fp32) }
        Parallel.forSlices(36 * cout, work: count, minWork: 1 << 16) { r in
            OneDNN.toBF16(source + r.lowerBound * cin, uh + r.lowerBound * cin, count: r.count * cin)
        }
    }

    /// V rounded to bf16 for channels `channels` of one group: the AVX2 transform stores bf16 directly; without it
    /// (never on a CPU with native bf16, which has AVX-512) the Swift transform's fp32 V is rounded per channel.
    static func transformInputBF16(_ src: UnsafePointer<Float>, channels: Range<Int>, cin: Int, h: Int, w: Int,
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
