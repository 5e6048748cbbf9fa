import Foundation

/// Winograd F(2×2, 3×3) convolution for 3×3, stride-1, padding-1, ungrouped layers: 16 GEMMs on transformed
/// tiles do the work of the direct convolution with 2.25× fewer multiply-adds (Lavin & Gray, 2015).
///
/// U = G·g·Gᵀ per (out, in) kernel (4×4), V = Bᵀ·d·B per 4×4 input tile, M[k] = U[k]·V[k] for each of the 16
/// positions k, output tile Y = Aᵀ·m·A (2×2). F(2,3)'s coefficients are 0, ±½, ±1, so results stay within float
/// rounding of the direct convolution (tested against `Conv2d.naive`).
///
/// Off by default (`MDD_WINOGRAD=1` turns it on): measured side by side on mobilediffusion-512 here, the scalar
/// tile transforms cost more than the saved multiply-adds (decoder 7.0–7.2 s against 5.7–6.8 s with im2col+GEMM;
/// UNet unchanged). Making it pay needs vectorised, cache-blocked transforms — the performance issue's work.
enum Winograd {
    static let enabledByDefault = ProcessInfo.processInfo.environment["MDD_WINOGRAD"] == "1"

    /// Whether a layer qualifies (and is big enough for the transforms to pay).
    static func applies(kernel: Int, stride: Int, padding: Int, groups: Int, cin: Int, cout: Int) -> Bool {
        kernel == 3 && stride == 1 && padding == 1 && groups == 1 && cin >= 16 && cout >= 16
    }

    /// weight: [Cout, Cin, 3, 3] → U: [16, Cout, Cin]
    static func transformKernel(_ w: [Float], cout: Int, cin: Int) -> [Float] {
        var u = [Float](repeating: 0, count: 16 * cout * cin)
        for o in 0..<cout {
            for i in 0..<cin {
                let g = (0..<9).map { w[(o * cin + i) * 9 + $0] }
                // t = G·g (4×3), then t·Gᵀ (4×4); G = [[1,0,0],[½,½,½],[½,−½,½],[0,0,1]].
                var t = [Float](repeating: 0, count: 12)
                for c in 0..<3 {
                    let g0 = g[c], g1 = g[3 + c], g2 = g[6 + c]
                    t[c] = g0
                    t[3 + c] = 0.5 * (g0 + g1 + g2)
                    t[6 + c] = 0.5 * (g0 - g1 + g2)
                    t[9 + c] = g2
                }
                for r in 0..<4 {
                    let a = t[r * 3], b = t[r * 3 + 1], c = t[r * 3 + 2]
                    let row = [a, 0.5 * (a + b + c), 0.5 * (a - b + c), c]
                    for k in 0..<4 { u[((r * 4 + k) * cout + o) * cin + i] = row[k] }
                }
            }
        }
        return u
    }

    /// One image: src [cin, h, w] → dst [cout, h, w] (+ bias), in bands of tile rows to bound the buffers.
    static func convolve(_ src: UnsafePointer<Float>, cin: Int, h: Int, w: Int, u: UnsafePointer<Float>, cout: Int,
                         bias: [Float]?, _ dst: UnsafeMutablePointer<Float>) {
        let tilesW = (w + 1) / 2, tilesH = (h + 1) / 2
        let bandRows = max(1, min(tilesH, (1 << 22) / max(1, 16 * max(cin, cout) * tilesW)))
        Scratch.with(16 * (cin + cout) * bandRows * tilesW) { buf in
            var t0 = 0
            while t0 < tilesH {
                let rows = min(bandRows, tilesH - t0), tiles = rows * tilesW
                let v = buf, m = buf + 16 * cin * tiles
                transformInput(src, cin: cin, channels: 0..<cin, h: h, w: w, tileRow0: t0, rows: rows, tilesW: tilesW, v: v)
                for k in 0..<16 {
                    GEMM.sgemm(m: cout, n: tiles, k: cin, a: u + k * cout * cin, lda: cin, b: v + k * cin * tiles, ldb: tiles,
                               c: m + k * cout * tiles, ldc: tiles)
                }
                transformOutput(m, cout: cout, outputs: 0..<cout, h: h, w: w, tileRow0: t0, rows: rows, tilesW: tilesW, bias: bias, dst: dst)
                t0 += rows
            }
        }
        // Benchmarks report nominal FLOPs (what a direct convolution would do): add back what Winograd saved.
        GEMM.flops &+= 18 * cout * cin * h * w - 32 * cout * cin * tilesW * tilesH
    }

    /// V[k][c][t] = (Bᵀ·d·B)[k] for each 4×4 input tile d (zero outside the image);
    /// Bᵀ = [[1,0,−1,0],[0,1,1,0],[0,−1,1,0],[0,1,0,−1]]. No allocation per tile: rows live in SIMD4 registers.
    static func transformInput(_ src: UnsafePointer<Float>, cin: Int, channels: Range<Int>, h: Int, w: Int, tileRow0: Int,
                               rows: Int, tilesW: Int, v: UnsafeMutablePointer<Float>) {
        let tiles = rows * tilesW
        for c in channels {
            let plane = src + c * h * w
            for tr in 0..<rows {
                let y0 = 2 * (tileRow0 + tr) - 1
                for tx in 0..<tilesW {
                    let x0 = 2 * tx - 1
                    @inline(__always) func row(_ r: Int) -> SIMD4<Float> {
                        let y = y0 + r
                        guard y >= 0 && y < h else { return .zero }
                        let line = plane + y * w
                        if x0 >= 0 && x0 + 3 < w { return UnsafeRawPointer(line + x0).loadUnaligned(as: SIMD4<Float>.self) }
                        var out = SIMD4<Float>.zero
                        for s in 0..<4 where x0 + s >= 0 && x0 + s < w { out[s] = line[x0 + s] }
                        return out
                    }
                    let d0 = row(0), d1 = row(1), d2 = row(2), d3 = row(3)
                    // Columns: Bᵀ·d.
                    let e = (d0 - d2, d1 + d2, d2 - d1, d1 - d3)
                    let t = tr * tilesW + tx
                    @inline(__always) func store(_ r: Int, _ x: SIMD4<Float>) {
                        // Rows: x·B = (x0 − x2, x1 + x2, x2 − x1, x1 − x3).
                        let base = (r * 4 * cin + c) * tiles + t, stride = cin * tiles
                        v[base] = x[0] - x[2]
                        v[base + stride] = x[1] + x[2]
                        v[base + 2 * stride] = x[2] - x[1]
                        v[base + 3 * stride] = x[1] - x[3]
                    }
                    store(0, e.0); store(1, e.1); store(2, e.2); store(3, e.3)
                }
            }
        }
    }

    /// Y = Aᵀ·m·A (2×2) per tile, Aᵀ = [[1,1,1,0],[0,1,−1,−1]], written into dst with the bias.
    static func transformOutput(_ m: UnsafePointer<Float>, cout: Int, outputs: Range<Int>, h: Int, w: Int, tileRow0: Int,
                                rows: Int, tilesW: Int, bias: [Float]?, dst: UnsafeMutablePointer<Float>) {
        let tiles = rows * tilesW, stride = cout * tiles
        for o in outputs {
            let b = bias?[o] ?? 0, plane = dst + o * h * w
            for t in 0..<tiles {
                let p = m + o * tiles + t
                @inline(__always) func q(_ r: Int) -> SIMD4<Float> {
                    SIMD4(p[(r * 4) * stride], p[(r * 4 + 1) * stride], p[(r * 4 + 2) * stride], p[(r * 4 + 3) * stride])
                }
                let q0 = q(0), q1 = q(1), q2 = q(2), q3 = q(3)
                let r0 = q0 + q1 + q2, r1 = q1 - q2 - q3
                let y00 = r0[0] + r0[1] + r0[2], y01 = r0[1] - r0[2] - r0[3]
                let y10 = r1[0] + r1[1] + r1[2], y11 = r1[1] - r1[2] - r1[3]
                let ty = 2 * (tileRow0 + t / tilesW), tx = 2 * (t % tilesW)
                plane[ty * w + tx] = y00 + b
                if tx + 1 < w { plane[ty * w + tx + 1] = y01 + b }
                if ty + 1 < h {
                    plane[(ty + 1) * w + tx] = y10 + b
                    if tx + 1 < w { plane[(ty + 1) * w + tx + 1] = y11 + b }
                }
            }
        }
    }
}
