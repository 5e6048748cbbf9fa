import CKernels

/// Depthwise 2-D convolution (groups == channels), the first half of a separable convolution.
enum DepthwiseConv {
    /// src: [C, h, w], weight: [C, 1, k, k], bias: [C]? → dst: [C, ho, wo]
    ///
    /// fp32 in either precision: 9 multiply-adds per value loaded, memory-bound, so bf16 operands would only cost
    /// accuracy (`Precision`).
    static func forward(_ src: UnsafePointer<Float>, channels: Int, h: Int, w: Int, weight: [Float], bias: [Float]?,
                        k: Int, stride: Int, padding: Int, _ dst: UnsafeMutablePointer<Float>, ho: Int, wo: Int) {
        // Channels are independent: split them over the engine's threads (bit-identical for any count). 3×3,
        // stride 1, padding 1 (every separable conv of the MobileDiffusion UNet) runs in C with vector rows.
        let fast = k == 3 && stride == 1 && padding == 1
        weight.withUnsafeBufferPointer { wp in
            Parallel.forSlices(channels, work: channels * ho * wo * k * k) { slice in
                if fast && ckernels_depthwise3x3(src, Int32(h), Int32(w), wp.baseAddress!, bias, dst,
                                                 Int32(slice.lowerBound), Int32(slice.upperBound)) == 0 {
                    return
                }
                for c in slice {
                    forward(channel: c, src, h: h, w: w, weight: wp, bias: bias?[c] ?? 0, k: k, stride: stride,
                            padding: padding, dst, ho: ho, wo: wo)
                }
            }
        }
    }

    /// One channel: dst[c] = bias + Σ_ky,kx weight[c, ky, kx] · src[c] shifted (zero outside).
    @inline(__always)
    private static func forward(channel c: Int, _ src: UnsafePointer<Float>, h: Int, w: Int,
                                weight wp: UnsafeBufferPointer<Float>, bias: Float, k: Int, stride: Int, padding: Int,
                                _ dst: UnsafeMutablePointer<Float>, ho: Int, wo: Int) {
        let plane = src + c * h * w, out = dst + c * ho * wo
        out.update(repeating: bias, count: ho * wo)
        for ky in 0..<k {
            for kx in 0..<k {
                let wv = wp[(c * k + ky) * k + kx]
                for oy in 0..<ho {
                    let iy = oy * stride - padding + ky
                    guard iy >= 0 && iy < h else { continue }
                    let line = plane + iy * w, o = out + oy * wo
                    // Valid ox range where 0 <= ox*stride - padding + kx < w.
                    let lo = max(0, (padding - kx + stride - 1) / stride)
                    let hi = min(wo, (w - 1 + padding - kx) / stride + 1)
                    guard hi > lo else { continue }
                    if stride == 1 {
                        let l = line + (lo - padding + kx)
                        for ox in lo..<hi { o[ox] += wv * l[ox - lo] }
                    } else {
                        for ox in lo..<hi { o[ox] += wv * line[ox * stride - padding + kx] }
                    }
                }
            }
        }
    }
}
