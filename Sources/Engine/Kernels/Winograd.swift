import CKernels
import Foundation

/// How a qualifying layer runs Winograd: small layers keep their transformed kernel U ([36, Cout, Cin], 4× the
/// weights); large ones (an SD decoder's 512×512 convs: 37 MB of U each) transform it per call into scratch space,
/// which costs ~1–8 % of the convolution at ≥ 64×64 and is skipped (im2col) below that.
struct WinogradPlan: Sendable {
    /// Layers with at most this many U floats (4 MiB) keep U.
    static let keepLimit = 1 << 20
    let u: [Float]?
    /// U rounded to bf16 for native bf16 products, made on the first one (kept U only).
    let uBF16 = BF16Copy()

    /// `keepU`: nil decides by size (`keepLimit`); tests force either path.
    init(weight: [Float], cout: Int, cin: Int, keepU: Bool? = nil) {
        guard keepU ?? (36 * cout * cin <= Self.keepLimit) else { u = nil; return }
        var u = [Float](repeating: 0, count: 36 * cout * cin)
        weight.withUnsafeBufferPointer { w in
            u.withUnsafeMutableBufferPointer { Winograd.transformKernel(w.baseAddress!, cout: cout, cin: cin, outputs: 0..<cout, u: $0.baseAddress!) }
        }
        self.u = u
    }

    /// Whether Winograd beats im2col here: always with a kept U; from 64×64 up when U is made per call.
    func pays(h: Int, w: Int) -> Bool { u != nil || h * w >= 64 * 64 }

    /// `prologue`: a per-channel affine (+ SiLU) applied to the input as it is read (a fused GroupNorm), or nil.
    func convolve(_ src: UnsafePointer<Float>, weight: [Float], cin: Int, h: Int, w: Int, cout: Int, bias: [Float]?,
                  prologue: UnsafePointer<ckernels_prologue>? = nil, _ dst: UnsafeMutablePointer<Float>) {
        weight.withUnsafeBufferPointer { wp in
            if let u {
                u.withUnsafeBufferPointer {
                    Winograd.convolve(src, cin: cin, h: h, w: w, u: $0.baseAddress!, uBF16: uBF16, weight: wp.baseAddress!, cout: cout,
                                      bias: bias, prologue: prologue, dst)
                }
            } else {
                Winograd.convolve(src, cin: cin, h: h, w: w, u: nil, weight: wp.baseAddress!, cout: cout, bias: bias,
                                  prologue: prologue, dst)
            }
        }
    }
}

/// Winograd F(4×4, 3×3) convolution for 3×3, stride-1, padding-1, ungrouped layers (Lavin & Gray, 2015): 36 GEMMs
/// on transformed 6×6 tiles do the work of the direct convolution with 4× fewer multiply-adds.
///
/// U = G·g·Gᵀ per (out, in) kernel (6×6), V = Bᵀ·d·B per 6×6 input tile (tiles overlap by 2, stride 4),
/// M[k] = U[k]·V[k] for each of the 36 positions k (one sgemm each: [Cout, Cin]·[Cin, tiles]), output tile
/// Y = Aᵀ·m·A (4×4). The matrices are the standard ones with interpolation points 0, ±1, ±2:
///
///   Bᵀ = [[4, 0,−5, 0, 1, 0],   G = [[ 1/4,    0,    0],   Aᵀ = [[1, 1, 1, 1, 1, 0],
///         [0,−4,−4, 1, 1, 0],        [−1/6, −1/6, −1/6],         [0, 1,−1, 2,−2, 0],
///         [0, 4,−4,−1, 1, 0],        [−1/6,  1/6, −1/6],         [0, 1, 1, 4, 4, 0],
///         [0,−2,−1, 2, 1, 0],        [1/24, 1/12,  1/6],         [0, 1,−1, 8,−8, 1]]
///         [0, 2,−1,−2, 1, 0],        [1/24,−1/12,  1/6],
///         [0, 4, 0,−5, 0, 1]]        [   0,    0,    1]]
///
/// The transforms run along whole tile rows with SIMD8 vectors over consecutive tiles (input rows are split into
/// their four x-phases first, so tile t's six columns are phases 0–3 at t and phases 0–1 at t + 1), and over
/// channel slices on each BLAS thread (`Parallel`). Its naive twin is `Conv2d.naive`: the tests compare both on edge
/// tiles (F(4,3)'s coefficients, up to 8 and 1/24, cost ~10× the rounding error of a direct sum; the tests bound it).
enum Winograd {
    /// On unless `MDD_WINOGRAD=0` (measured side by side in the performance notes of the README).
    static let enabledByDefault = ProcessInfo.processInfo.environment["MDD_WINOGRAD"] != "0"

    /// Whether a bf16 render runs Winograd's 36 products in bf16 too: yes unless `MDD_WINOGRAD_BF16=0` (a render
    /// records `winograd: fp32` then, and `mdd render --from` sets it back). F(4×4, 3×3)'s transforms (coefficients
    /// up to 8 and 1/24) amplify the rounding of the transformed operands ~10× over a direct sum: on
    /// mobilediffusion-512 (random weights) the image is 43.7 dB from fp32 with bf16 products here and 54.9 dB with
    /// fp32 ones — diffusers' own bf16 autocast is 44.2 dB from its fp32 on the same weights, and the quality bar is
    /// 40 dB — while the decoder is ~20 % faster (661 against 833 ms, best of 3, AMD EPYC with AVX512-BF16, 2 threads).
    nonisolated(unsafe) static var bf16Products = ProcessInfo.processInfo.environment["MDD_WINOGRAD_BF16"] != "0"

    /// Whether a layer qualifies (and is big enough for the transforms to pay).
    static func applies(kernel: Int, stride: Int, padding: Int, groups: Int, cin: Int, cout: Int) -> Bool {
        kernel == 3 && stride == 1 && padding == 1 && groups == 1 && cin >= 16 && cout >= 16
    }

    /// weight: [Cout, Cin, 3, 3] → U: [36, Cout, Cin], eight input channels at a time (U = G·g·Gᵀ per kernel).
    static func transformKernel(_ w: UnsafePointer<Float>, cout: Int, cin: Int, outputs: Range<Int>, u: UnsafeMutablePointer<Float>) {
        typealias V = SIMD8<Float>
        // G·(a0, a1, a2) for G = [[1/4,0,0],[−1/6,−1/6,−1/6],[−1/6,1/6,−1/6],[1/24,1/12,1/6],[1/24,−1/12,1/6],[0,0,1]].
        @inline(__always) func g(_ a0: V, _ a1: V, _ a2: V) -> V6 {
            let s = a0 + a2, p = a0 * (1 / 24) + a2 * (1 / 6)
            return (a0 * 0.25, (s + a1) * (-1 / 6), (s - a1) * (-1 / 6), p + a1 * (1 / 12), p - a1 * (1 / 12), a2)
        }
        let plane = cout * cin
        for o in outputs {
            var i = 0
            while i < cin {
                let lanes = min(8, cin - i)
                let first = w + (o * cin + i) * 9
                @inline(__always) func k(_ j: Int) -> V {  // tap j of eight consecutive kernels (stride 9 floats)
                    var v = V.zero
                    for l in 0..<lanes { v[l] = first[l * 9 + j] }
                    return v
                }
                // Columns of g (kx = 0, 1, 2) through G, then each row r of t = G·g through G again.
                let c0 = g(k(0), k(3), k(6)), c1 = g(k(1), k(4), k(7)), c2 = g(k(2), k(5), k(8))
                let base = u + o * cin + i
                @inline(__always) func row(_ r: Int, _ a0: V, _ a1: V, _ a2: V) {
                    let t = g(a0, a1, a2), out = base + r * 6 * plane
                    storePartial(t.0, out, lanes); storePartial(t.1, out + plane, lanes); storePartial(t.2, out + 2 * plane, lanes)
                    storePartial(t.3, out + 3 * plane, lanes); storePartial(t.4, out + 4 * plane, lanes); storePartial(t.5, out + 5 * plane, lanes)
                }
                row(0, c0.0, c1.0, c2.0); row(1, c0.1, c1.1, c2.1); row(2, c0.2, c1.2, c2.2)
                row(3, c0.3, c1.3, c2.3); row(4, c0.4, c1.4, c2.4); row(5, c0.5, c1.5, c2.5)
                i += 8
            }
        }
    }

    /// One image: src [cin, h, w] → dst [cout, h, w] (+ bias), in groups of tile rows (`WinogradGroups`).
    /// `u`: the transformed kernel, or nil to transform `weight` into scratch space first (large layers). Inside
    /// `BF16.with(.bf16)` the 36 products take bf16 operands: natively (V stored in bf16 by the input transform, U
    /// rounded once and kept in `uBF16`) or, without native bf16, emulated (V and U rounded, fp32 products) — the
    /// same rounded operands, only the order of the fp32 sums differs.
    static func convolve(_ src: UnsafePointer<Float>, cin: Int, h: Int, w: Int, u precomputed: UnsafePointer<Float>?,
                         uBF16: BF16Copy? = nil, weight: UnsafePointer<Float>, cout: Int, bias: [Float]?,
                         prologue: UnsafePointer<ckernels_prologue>? = nil, _ dst: UnsafeMutablePointer<Float>) {
        let operands: WinogradGroups.Operands = BF16.isActive ? (GEMM.nativeBF16 ? .nativeBF16 : .emulatedBF16) : .fp32
        let uCount = 36 * cout * cin
        // U in fp32 scratch: made per call, or rounded (emulation); in bf16 scratch: native without a kept copy.
        let floatU = precomputed == nil || operands == .emulatedBF16
        let halfU = operands == .nativeBF16 && (precomputed == nil || uBF16 == nil)
        func run(bias biasPointer: UnsafePointer<Float>?) {
            let groups = WinogradGroups(src: src, dst: dst, cin: cin, cout: cout, h: h, w: w, prologue: prologue,
                                        bias: biasPointer, operands: operands)
            let threads = min(Parallel.threads, groups.groups)
            let uFloats = (floatU ? uCount : 0) + (halfU ? (uCount + 1) / 2 : 0)
            Scratch.with(uFloats + threads * groups.floatsPerThread + 64) { scratch in
                let work = scratch + (uFloats + 15) / 16 * 16
                let uh = scratch + (floatU ? uCount : 0)
                switch operands {
                case .fp32:
                    if precomputed == nil { transformKernel(weight, cout: cout, cin: cin, into: scratch) }
                    groups.run(threads: threads, u: precomputed ?? UnsafePointer(scratch), uh: nil, work: work)
                case .emulatedBF16:
                    if precomputed == nil { transformKernel(weight, cout: cout, cin: cin, into: scratch) }
                    let source = precomputed ?? UnsafePointer(scratch)
                    Parallel.forSlices(36 * cout, work: uCount) { r in
                        BF16.round(source + r.lowerBound * cin, scratch + r.lowerBound * cin, count: r.count * cin)
                    }
                    groups.run(threads: threads, u: UnsafePointer(scratch), uh: nil, work: work)
                case .nativeBF16:
                    uh.withMemoryRebound(to: UInt16.self, capacity: uCount) { half in
                        let u = halfU ? UnsafePointer(half) : uBF16!.pointer(precomputed!, count: uCount)
                        if halfU { roundedU(precomputed, weight: weight, cout: cout, cin: cin, fp32: scratch, into: half) }
                        groups.run(threads: threads, u: nil, uh: u, work: work)
                    }
                }
            }
        }
        if let bias { bias.withUnsafeBufferPointer { run(bias: $0.baseAddress) } } else { run(bias: nil) }
        // Benchmarks report nominal FLOPs (what a direct convolution would do): add back what Winograd saved.
        let tilesW = (w + 3) / 4, tilesH = (h + 3) / 4
        GEMM.count(flops: 18 * cout * cin * h * w - 72 * cout * cin * tilesW * tilesH)
    }

    /// U = G·g·Gᵀ for every kernel into `u`, split over the engine's threads by output channel.
    static func transformKernel(_ weight: UnsafePointer<Float>, cout: Int, cin: Int, into u: UnsafeMutablePointer<Float>) {
        Parallel.forSlices(cout, work: 16 * cout * cin) { transformKernel(weight, cout: cout, cin: cin, outputs: $0, u: u) }
    }

    /// V[k][c][t] = (Bᵀ·d·B)[k] for each 6×6 input tile d at (4·ty − 1, 4·tx − 1), zero outside the image.
    static func transformInput(_ src: UnsafePointer<Float>, channels: Range<Int>, cin: Int, h: Int, w: Int, tileRow0: Int,
                               rows: Int, tilesW: Int, prologue: UnsafePointer<ckernels_prologue>? = nil,
                               v: UnsafeMutablePointer<Float>) {
        let tiles = rows * tilesW
        let n8 = (tilesW + 1 + 7) / 8 * 8 + 8  // per-phase row length, padded for the t + 1 loads
        let lineLength = 4 * n8 + 32
        withUnsafeTemporaryAllocation(of: Float.self, capacity: lineLength + 48 * n8) { tmp in
            let line = tmp.baseAddress!, phase = line + lineLength, col = phase + 24 * n8
            for c in channels {
                let plane = src + c * h * w
                for tr in 0..<rows {
                    let y0 = 4 * (tileRow0 + tr) - 1
                    // phase[i][p][t] = d_i[x = 4t + p − 1] for the tile row's six input rows i.
                    for i in 0..<6 {
                        splitPhases(y0 + i < 0 || y0 + i >= h ? nil : plane + (y0 + i) * w, w: w, n8: n8, line: line,
                                    prologue: prologue.map { ($0.pointee, c) },
                                    into: phase + i * 4 * n8)
                    }
                    // Columns: e_r = Σ_i Bᵀ[r][i]·d_i, per phase, 8 tiles at a time.
                    for p in 0..<4 {
                        var t = 0
                        while t < n8 {
                            @inline(__always) func d(_ i: Int) -> SIMD8<Float> { load(phase + (i * 4 + p) * n8 + t) }
                            let d0 = d(0), d1 = d(1), d2 = d(2), d3 = d(3), d4 = d(4), d5 = d(5)
                            let e = bt(d0, d1, d2, d3, d4, d5)
                            store(e.0, col + p * n8 + t)
                            store(e.1, col + (4 + p) * n8 + t)
                            store(e.2, col + (8 + p) * n8 + t)
                            store(e.3, col + (12 + p) * n8 + t)
                            store(e.4, col + (16 + p) * n8 + t)
                            store(e.5, col + (20 + p) * n8 + t)
                            t += 8
                        }
                    }
                    // Rows: V[r][c'] = Σ_j Bᵀ[c'][j]·e_r[x_j], x_j = phases 0–3 at t, phases 0–1 at t + 1.
                    let base = tr * tilesW
                    for r in 0..<6 {
                        let e = col + r * 4 * n8
                        var t = 0
                        while t < tilesW {
                            let q = bt(load(e + t), load(e + n8 + t), load(e + 2 * n8 + t), load(e + 3 * n8 + t),
                                       load(e + t + 1), load(e + n8 + t + 1))
                            let lanes = min(8, tilesW - t), out = v + (r * 6 * cin + c) * tiles + base + t, k = cin * tiles
                            storePartial(q.0, out, lanes)
                            storePartial(q.1, out + k, lanes)
                            storePartial(q.2, out + 2 * k, lanes)
                            storePartial(q.3, out + 3 * k, lanes)
                            storePartial(q.4, out + 4 * k, lanes)
                            storePartial(q.5, out + 5 * k, lanes)
                            t += 8
                        }
                    }
                }
            }
        }
    }

    /// Copies one input row (nil: outside the image) with its zero padding and splits it into its four x-phases.
    @inline(__always)
    static func splitPhases(_ row: UnsafePointer<Float>?, w: Int, n8: Int, line: UnsafeMutablePointer<Float>,
                            prologue: (ckernels_prologue, Int)? = nil,
                            into phase: UnsafeMutablePointer<Float>) {
        guard let row else { phase.update(repeating: 0, count: 4 * n8); return }
        // line[x'] = d[x' − 1]: one zero on the left, zeros after the row's end.
        line.update(repeating: 0, count: 4 * n8 + 32)
        (line + 1).update(from: row, count: w)
        if let (p, c) = prologue { ckernels_affine(line + 1, w, p.scale[c], p.shift[c], p.silu) }
        var t = 0
        while t < n8 {
            let x = UnsafeRawPointer(line + 4 * t).loadUnaligned(as: SIMD32<Float>.self)
            let even = x.evenHalf, odd = x.oddHalf
            store(even.evenHalf, phase + t)
            store(odd.evenHalf, phase + n8 + t)
            store(even.oddHalf, phase + 2 * n8 + t)
            store(odd.oddHalf, phase + 3 * n8 + t)
            t += 8
        }
    }

    typealias V6 = (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>)
    typealias V4 = (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>)

    /// Bᵀ applied to six vectors (each lane one tile).
    @inline(__always)
    static func bt(_ d0: SIMD8<Float>, _ d1: SIMD8<Float>, _ d2: SIMD8<Float>, _ d3: SIMD8<Float>, _ d4: SIMD8<Float>,
                   _ d5: SIMD8<Float>) -> V6 {
        let a = d4 - d2, b = d3 - d1
        return (4 * d0 - 5 * d2 + d4,
                (d3 + d4) - 4 * (d1 + d2),
                (d4 - d3) + 4 * (d1 - d2),
                a + 2 * b,
                a - 2 * b,
                4 * d1 - 5 * d3 + d5)
    }

    /// Y = Aᵀ·m·A (4×4) per tile, written into dst with the bias (rows/columns past the image are dropped).
    static func transformOutput(_ m: UnsafePointer<Float>, outputs: Range<Int>, cout: Int, h: Int, w: Int, tileRow0: Int,
                                rows: Int, tilesW: Int, bias: [Float]?, dst: UnsafeMutablePointer<Float>) {
        let tiles = rows * tilesW, stride = cout * tiles
        for o in outputs {
            let b = SIMD8<Float>(repeating: bias?[o] ?? 0), plane = dst + o * h * w
            for tr in 0..<rows {
                let oy = 4 * (tileRow0 + tr)
                var t = 0
                while t < tilesW {
                    let p = m + o * tiles + tr * tilesW + t
                    // f_r = Aᵀ·(m[r][0...5]) along c, then y[·][j] = Aᵀ·(f_0[j] … f_5[j]) along r.
                    @inline(__always) func f(_ r: Int) -> V4 {
                        let q = p + r * 6 * stride
                        return at(load(q), load(q + stride), load(q + 2 * stride), load(q + 3 * stride), load(q + 4 * stride),
                                  load(q + 5 * stride))
                    }
                    let f0 = f(0), f1 = f(1), f2 = f(2), f3 = f(3), f4 = f(4), f5 = f(5)
                    let lanes = min(8, tilesW - t)
                    @inline(__always) func put(_ i: Int, _ j: Int, _ yi: SIMD8<Float>) {
                        guard oy + i < h else { return }
                        let out = plane + (oy + i) * w + j, v = yi + b
                        for l in 0..<lanes where 4 * (t + l) + j < w { out[4 * (t + l)] = v[l] }
                    }
                    // Columns j of the 4×4 output tiles: y_j.i holds row i of eight tiles.
                    let y0 = at(f0.0, f1.0, f2.0, f3.0, f4.0, f5.0), y1 = at(f0.1, f1.1, f2.1, f3.1, f4.1, f5.1)
                    let y2 = at(f0.2, f1.2, f2.2, f3.2, f4.2, f5.2), y3 = at(f0.3, f1.3, f2.3, f3.3, f4.3, f5.3)
                    if lanes == 8 && 4 * (t + 8) <= w && oy + 4 <= h {
                        // Whole tiles: interleave the four columns into 32 contiguous floats per output row.
                        interleave(y0.0 + b, y1.0 + b, y2.0 + b, y3.0 + b, plane + oy * w + 4 * t)
                        interleave(y0.1 + b, y1.1 + b, y2.1 + b, y3.1 + b, plane + (oy + 1) * w + 4 * t)
                        interleave(y0.2 + b, y1.2 + b, y2.2 + b, y3.2 + b, plane + (oy + 2) * w + 4 * t)
                        interleave(y0.3 + b, y1.3 + b, y2.3 + b, y3.3 + b, plane + (oy + 3) * w + 4 * t)
                    } else {
                        for (j, y) in [(0, y0), (1, y1), (2, y2), (3, y3)] {
                            put(0, j, y.0); put(1, j, y.1); put(2, j, y.2); put(3, j, y.3)
                        }
                    }
                    t += 8
                }
            }
        }
    }

    /// out[4l + j] = c_j[l] for l < 8: a 4×8 transpose into 32 contiguous floats.
    @inline(__always)
    static func interleave(_ c0: SIMD8<Float>, _ c1: SIMD8<Float>, _ c2: SIMD8<Float>, _ c3: SIMD8<Float>,
                           _ out: UnsafeMutablePointer<Float>) {
        store(SIMD8(c0[0], c1[0], c2[0], c3[0], c0[1], c1[1], c2[1], c3[1]), out)
        store(SIMD8(c0[2], c1[2], c2[2], c3[2], c0[3], c1[3], c2[3], c3[3]), out + 8)
        store(SIMD8(c0[4], c1[4], c2[4], c3[4], c0[5], c1[5], c2[5], c3[5]), out + 16)
        store(SIMD8(c0[6], c1[6], c2[6], c3[6], c0[7], c1[7], c2[7], c3[7]), out + 24)
    }

    /// Aᵀ applied to six vectors → four.
    @inline(__always)
    static func at(_ q0: SIMD8<Float>, _ q1: SIMD8<Float>, _ q2: SIMD8<Float>, _ q3: SIMD8<Float>, _ q4: SIMD8<Float>,
                   _ q5: SIMD8<Float>) -> V4 {
        let s12 = q1 + q2, d12 = q1 - q2, s34 = q3 + q4, d34 = q3 - q4
        return (q0 + s12 + s34, d12 + 2 * d34, s12 + 4 * s34, d12 + 8 * d34 + q5)
    }

    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always) static func load(_ p: UnsafeMutablePointer<Float>) -> SIMD8<Float> { load(UnsafePointer(p)) }

    @inline(__always) static func store(_ x: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: x, as: SIMD8<Float>.self)
    }

    @inline(__always) static func storePartial(_ x: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, _ lanes: Int) {
        if lanes == 8 { return store(x, p) }
        for l in 0..<lanes { p[l] = x[l] }
    }
}
