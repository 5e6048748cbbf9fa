/// Spatial resampling and layout changes.
public enum Resample {
    /// Nearest-neighbour 2x upsampling (F.interpolate(scale_factor=2, mode="nearest")): [N,C,H,W] → [N,C,2H,2W].
    public static func nearest2x(_ x: Tensor) -> Tensor {
        let h = x.h, w = x.w, planes = x.n * x.c
        var out = Tensor(empty: [x.n, x.c, 2 * h, 2 * w])
        OpProfile.measure("upsample") { x.data.withUnsafeBufferPointer { xp in
            out.data.withUnsafeMutableBufferPointer { op in
                Parallel.forSlices(planes, work: 4 * x.count) { slice in
                    for p in slice {
                        let src = xp.baseAddress! + p * h * w, dst = op.baseAddress! + p * 4 * h * w
                        for y in 0..<h {
                            let row = dst + (2 * y) * 2 * w
                            for xx in 0..<w { let v = src[y * w + xx]; row[2 * xx] = v; row[2 * xx + 1] = v }
                            (row + 2 * w).update(from: row, count: 2 * w)
                        }
                    }
                }
            }
        } }
        return out
    }

    /// [N, C, H, W] → [N, H*W, C] (channels-last tokens for attention).
    public static func toTokens(_ x: Tensor) -> Tensor {
        let c = x.c, hw = x.h * x.w
        var out = Tensor(empty: [x.n, hw, c])
        OpProfile.measure("transpose") { x.data.withUnsafeBufferPointer { xp in out.data.withUnsafeMutableBufferPointer { op in
            for b in 0..<x.n { transpose(xp.baseAddress! + b * c * hw, rows: c, cols: hw, op.baseAddress! + b * c * hw) }
        } } }
        return out
    }

    /// [N, H*W, C] → [N, C, H, W].
    public static func fromTokens(_ x: Tensor, h: Int, w: Int) -> Tensor {
        let c = x.shape[2], hw = h * w
        var out = Tensor(empty: [x.shape[0], c, h, w])
        OpProfile.measure("transpose") { x.data.withUnsafeBufferPointer { xp in out.data.withUnsafeMutableBufferPointer { op in
            for b in 0..<x.shape[0] { transpose(xp.baseAddress! + b * c * hw, rows: hw, cols: c, op.baseAddress! + b * c * hw) }
        } } }
        return out
    }

    /// dst[cols, rows] = src[rows, cols]ᵀ, in cache-friendly 32x32 blocks.
    /// Bands of 32 source rows are split over the render's threads (a copy: the same bits on any thread count).
    static func transpose(_ src: UnsafePointer<Float>, rows: Int, cols: Int, _ dst: UnsafeMutablePointer<Float>) {
        let bs = 32, bands = (rows + bs - 1) / bs
        Parallel.forSlices(bands, work: rows * cols) { slice in
            for band in slice {
                let r0 = band * bs
                for c0 in stride(from: 0, to: cols, by: bs) {
                    for r in r0..<min(r0 + bs, rows) {
                        for c in c0..<min(c0 + bs, cols) { dst[c * rows + r] = src[r * cols + c] }
                    }
                }
            }
        }
    }
}

/// Concatenation along channels: [N, C1, H, W] ++ [N, C2, H, W] → [N, C1+C2, H, W] (UNet skip connections).
public func concatChannels(_ a: Tensor, _ b: Tensor) -> Tensor {
    precondition(a.n == b.n && a.h == b.h && a.w == b.w, "skip concat: \(a.shape) vs \(b.shape)")
    let sa = a.c * a.h * a.w, sb = b.c * b.h * b.w
    var data = [Float]()
    data.reserveCapacity(a.count + b.count)
    for i in 0..<a.n {
        data.append(contentsOf: a.data[i * sa..<(i + 1) * sa])
        data.append(contentsOf: b.data[i * sb..<(i + 1) * sb])
    }
    return Tensor(shape: [a.n, a.c + b.c, a.h, a.w], data: data)
}
