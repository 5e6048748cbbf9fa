import CKernels

/// 2-D convolution as torch.nn.Conv2d (NCHW, zero padding, optional groups).
///
/// groups == 1 runs as im2col + GEMM over bands of output rows (so the column buffer stays small even for a
/// 512x512 decoder); 1x1 stride-1 convs skip im2col; depthwise convs (groups == Cin == Cout) use a direct loop.
public struct Conv2d: Sendable {
    /// weight: [Cout, Cin/groups, kh, kw]; bias: [Cout] or nil. A placeholder (shape only) in a bf16-only layer.
    public let weight: Tensor
    public let bias: [Float]?
    public let stride: Int
    public let padding: Int
    public let groups: Int
    /// How the layer uses Winograd F(4x4,3x3), if it qualifies (3x3, stride 1, pad 1, ungrouped).
    let winograd: WinogradPlan?
    /// The direct kernel for layers with few channels (see `DirectConvPlan`), unless `MDD_DIRECT_CONV=0`.
    let direct: DirectConvPlan?
    /// The weights in bf16 for the im2col products: made on the first bf16 product, or at load for a bf16-only
    /// layer (see `BF16Copy`).
    let weightBF16: BF16Copy

    /// `useWinograd`: nil follows `MDD_WINOGRAD` (on unless set to 0). `bf16Only`: keep the weights in bf16 alone
    /// when every product of the layer is an im2col GEMM (no Winograd or direct plan, ungrouped); the layer then
    /// serves native bf16 products only (`GEMM.nativeBF16` inside `BF16.with(.bf16)`), which the caller guarantees.
    public init(weight: Tensor, bias: [Float]?, stride: Int = 1, padding: Int = 0, groups: Int = 1, useWinograd: Bool? = nil,
                bf16Only: Bool = false) {
        self.bias = bias
        self.stride = stride
        self.padding = padding
        self.groups = groups
        let cout = weight.shape[0], cin = weight.shape[1] * groups
        winograd = (useWinograd ?? Winograd.enabledByDefault) && Winograd.applies(kernel: weight.shape[2], stride: stride, padding: padding, groups: groups, cin: cin, cout: cout)
            ? WinogradPlan(weight: weight.data, cout: cout, cin: cin) : nil
        direct = DirectConvPlan.enabledByDefault && DirectConvPlan.applies(kernel: weight.shape[2], stride: stride, padding: padding,
                                                                          groups: groups, cin: cin, cout: cout)
            ? DirectConvPlan(weight: weight.data, cout: cout, cin: cin) : nil
        let dropFP32 = bf16Only && winograd == nil && direct == nil && groups == 1
        self.weight = dropFP32 ? Tensor(placeholder: weight.shape) : weight
        weightBF16 = dropFP32 ? BF16Copy(of: weight.data) : BF16Copy()
    }

    public var outChannels: Int { weight.shape[0] }
    public var inChannels: Int { weight.shape[1] * groups }
    var kh: Int { weight.shape[2] }
    var kw: Int { weight.shape[3] }

    /// Output spatial size for an input of size `size`.
    func outSize(_ size: Int, _ k: Int) -> Int { (size + 2 * padding - k) / stride + 1 }

    /// x: [N, Cin, H, W] → [N, Cout, Hout, Wout]
    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.c == inChannels, "conv expects \(inChannels) channels, got \(x.c)")
        let ho = outSize(x.h, kh), wo = outSize(x.w, kw)
        var out = Tensor(empty: [x.n, outChannels, ho, wo])
        OpProfile.measure(profileLabel(h: x.h, w: x.w)) {
        x.data.withUnsafeBufferPointer { xp in
            out.data.withUnsafeMutableBufferPointer { op in
                for b in 0..<x.n {
                    let src = xp.baseAddress! + b * x.c * x.h * x.w
                    let dst = op.baseAddress! + b * outChannels * ho * wo
                    // Few-channel layers run the fp32 direct kernel in either precision: bf16 operands would only
                    // send them through a GEMM of tiny K, which is slower (`Precision`).
                    if let plan = direct, plan.pays(h: x.h, w: x.w) {
                        plan.convolve(src, h: x.h, w: x.w, bias: bias, dst)
                    } else if let plan = winograd, plan.pays(h: x.h, w: x.w) {
                        winograd(plan, src, h: x.h, w: x.w, prologue: nil, dst)
                    } else if groups == 1 {
                        convGEMM(src, h: x.h, w: x.w, dst, ho: ho, wo: wo)
                    } else if groups == inChannels && groups == outChannels {
                        DepthwiseConv.forward(src, channels: inChannels, h: x.h, w: x.w, weight: weight.data,
                                              bias: bias, k: kh, stride: stride, padding: padding, dst, ho: ho, wo: wo)
                    } else {
                        convGrouped(src, h: x.h, w: x.w, dst, ho: ho, wo: wo)
                    }
                }
            }
        }
        }
        return out
    }

    /// Whether `callAsFunction(_:normalizedBy:silu:)` fuses the norm for an input of h×w (the layer runs Winograd).
    func fusesNorm(h: Int, w: Int) -> Bool {
        !(direct?.pays(h: h, w: w) ?? false) && (winograd?.pays(h: h, w: w) ?? false)
    }

    /// conv(norm(x), then SiLU if `silu`): where this layer runs Winograd the norm's per-channel affine is applied by
    /// the input transform as it reads each row (`ckernels_prologue`), so the normalised tensor is never written —
    /// one full-size tensor and one pass over it less (a 512² decoder's 128 channels: 134 MB). The same bits as
    /// `self(norm(x, silu:))`: the transform runs the same `ckernels_affine` on each row. Elsewhere it is exactly that.
    public func callAsFunction(_ x: Tensor, normalizedBy norm: GroupNorm, silu: Bool) -> Tensor {
        guard fusesNorm(h: x.h, w: x.w), let plan = winograd else { return self(norm(x, silu: silu)) }
        precondition(x.c == inChannels, "conv expects \(inChannels) channels, got \(x.c)")
        let (scale, shift) = norm.channelAffine(x)
        var out = Tensor(empty: [x.n, outChannels, x.h, x.w])
        OpProfile.measure("conv 3x3 winograd+norm") {
            x.data.withUnsafeBufferPointer { xp in out.data.withUnsafeMutableBufferPointer { op in
                scale.withUnsafeBufferPointer { sp in shift.withUnsafeBufferPointer { hp in
                    let plane = x.h * x.w
                    for b in 0..<x.n {
                        var prologue = ckernels_prologue(scale: sp.baseAddress! + b * x.c, shift: hp.baseAddress! + b * x.c, silu: silu ? 1 : 0)
                        winograd(plan, xp.baseAddress! + b * x.c * plane, h: x.h, w: x.w, prologue: &prologue,
                                 op.baseAddress! + b * outChannels * plane)
                    }
                } }
            } }
        }
        return out
    }

    /// One image through Winograd: in a bf16 render, bf16 products unless `MDD_WINOGRAD_BF16=0` (quality: see
    /// `Winograd.bf16Products`).
    private func winograd(_ plan: WinogradPlan, _ src: UnsafePointer<Float>, h: Int, w: Int,
                          prologue: UnsafePointer<ckernels_prologue>?, _ dst: UnsafeMutablePointer<Float>) {
        let run = { plan.convolve(src, weight: weight.data, cin: inChannels, h: h, w: w, cout: outChannels, bias: bias, prologue: prologue, dst) }
        if Winograd.bf16Products { run() } else { BF16.fp32(run) }
    }

    /// `OpProfile`'s name for this layer's path at an input of h×w (as chosen in `callAsFunction`).
    private func profileLabel(h: Int, w: Int) -> String {
        let path: String
        if let plan = direct, plan.pays(h: h, w: w) { path = "direct" }
        else if let plan = winograd, plan.pays(h: h, w: w) { path = "winograd" }
        else if groups == 1 { path = kh == 1 && kw == 1 && stride == 1 && padding == 0 ? "1x1" : "im2col" }
        else { path = groups == inChannels && groups == outChannels ? "depthwise" : "grouped" }
        return "conv \(kh)x\(kw) \(path)"
    }

    /// One image: out[Cout, ho*wo] = W[Cout, Cin*kh*kw] · col[Cin*kh*kw, ho*wo] (+ bias).
    private func convGEMM(_ src: UnsafePointer<Float>, h: Int, w: Int, _ dst: UnsafeMutablePointer<Float>, ho: Int, wo: Int) {
        let k = inChannels * kh * kw, hw = ho * wo
        precondition(!weight.isPlaceholder || (BF16.isActive && GEMM.nativeBF16), "a bf16-only conv in an fp32 product")
        fillBias(dst, count: hw)
        let beta: Float = bias == nil ? 0 : 1
        weight.data.withUnsafeBufferPointer { wp in
            if kh == 1 && kw == 1 && stride == 1 && padding == 0 {
                // A native bf16 product converts its activation operand into a per-thread buffer that stays: bands
                // of columns bound it to `Scratch.bandFloats` halves (a 512² decoder's 128-channel shortcut would
                // keep 67 MB). fp32 products read the input in place, in one call.
                let native = BF16.isActive && GEMM.nativeBF16
                let band = native ? max(16, min(hw, Scratch.bandFloats / max(1, k)) / 16 * 16) : hw
                var c0 = 0
                while c0 < hw {
                    let n = min(band, hw - c0)
                    GEMM.sgemm(m: outChannels, n: n, k: k, a: wp.baseAddress!, lda: k, b: src + c0, ldb: hw,
                               beta: beta, c: dst + c0, ldc: hw, constA: weightBF16)
                    c0 += n
                }
                return
            }
            // Bands of output rows keep the column buffer near `Scratch.bandFloats` at most.
            let rowsPerBand = max(1, min(ho, Scratch.bandFloats / max(1, k * wo)))
            if BF16.isActive && GEMM.nativeBF16 {
                // Columns written in bf16 directly (`ckernels_im2col_bf16`): no fp32 columns, no second pass.
                let a = weightBF16.pointer(wp.baseAddress!, count: outChannels * k)
                return Scratch.with((k * rowsPerBand * wo + 1) / 2) { scratch in
                    scratch.withMemoryRebound(to: UInt16.self, capacity: k * rowsPerBand * wo) { col in
                        forEachBand(ho: ho, rowsPerBand: rowsPerBand) { r0, rows in
                            Parallel.forSlices(inChannels, work: k * rows * wo) { s in
                                ckernels_im2col_bf16(src, Int32(s.lowerBound), Int32(s.upperBound), Int32(h), Int32(w), Int32(kh),
                                                     Int32(stride), Int32(padding), Int32(r0), Int32(rows), Int32(wo), col)
                            }
                            GEMM.bf16Product(m: outChannels, n: rows * wo, k: k, a: a, lda: k, b: col, ldb: rows * wo, beta: beta,
                                             c: dst + r0 * wo, ldc: hw)
                        }
                    }
                }
            }
            Scratch.with(k * rowsPerBand * wo) { col in
                forEachBand(ho: ho, rowsPerBand: rowsPerBand) { r0, rows in
                    Parallel.forSlices(inChannels, work: k * rows * wo) { s in
                        Im2Col.fill(src, channels: s, h: h, w: w, k: kh, stride: stride, padding: padding,
                                    rowStart: r0, rows: rows, wo: wo, col: col)
                    }
                    GEMM.sgemm(m: outChannels, n: rows * wo, k: k, a: wp.baseAddress!, lda: k,
                               b: col, ldb: rows * wo, beta: beta, c: dst + r0 * wo, ldc: hw, constA: weightBF16)
                }
            }
        }
    }

    /// Calls body(firstRow, rows) for consecutive bands of at most `rowsPerBand` of `ho` output rows.
    private func forEachBand(ho: Int, rowsPerBand: Int, _ body: (Int, Int) -> Void) {
        var r0 = 0
        while r0 < ho {
            let rows = min(rowsPerBand, ho - r0)
            body(r0, rows)
            r0 += rows
        }
    }

    /// General grouped convolution: one GEMM per group.
    private func convGrouped(_ src: UnsafePointer<Float>, h: Int, w: Int, _ dst: UnsafeMutablePointer<Float>, ho: Int, wo: Int) {
        let cinG = inChannels / groups, coutG = outChannels / groups
        let k = cinG * kh * kw, hw = ho * wo
        fillBias(dst, count: hw)
        weight.data.withUnsafeBufferPointer { wp in
            Scratch.with(k * hw) { col in
                for g in 0..<groups {
                    Im2Col.fill(src + g * cinG * h * w, channels: 0..<cinG, h: h, w: w, k: kh, stride: stride,
                                padding: padding, rowStart: 0, rows: ho, wo: wo, col: col)
                    GEMM.sgemm(m: coutG, n: hw, k: k, a: wp.baseAddress! + g * coutG * k, lda: k,
                               b: col, ldb: hw, beta: bias == nil ? 0 : 1, c: dst + g * coutG * hw, ldc: hw)
                }
            }
        }
    }

    private func fillBias(_ dst: UnsafeMutablePointer<Float>, count: Int) {
        guard let bias else { return }
        Parallel.forSlices(outChannels, work: outChannels * count) { slice in
            for o in slice { (dst + o * count).update(repeating: bias[o], count: count) }
        }
    }

    /// Naive reference (direct loops, Double accumulation) for tests.
    public func naive(_ x: Tensor) -> Tensor {
        let ho = outSize(x.h, kh), wo = outSize(x.w, kw)
        let cinG = inChannels / groups, coutG = outChannels / groups
        var out = Tensor(zeros: [x.n, outChannels, ho, wo])
        for b in 0..<x.n { for o in 0..<outChannels { for oy in 0..<ho { for ox in 0..<wo {
            var acc = Double(bias?[o] ?? 0)
            let g = o / coutG
            for ci in 0..<cinG { for ky in 0..<kh { for kx in 0..<kw {
                let iy = oy * stride - padding + ky, ix = ox * stride - padding + kx
                guard iy >= 0, iy < x.h, ix >= 0, ix < x.w else { continue }
                let xv = x.data[((b * x.c + g * cinG + ci) * x.h + iy) * x.w + ix]
                acc += Double(xv) * Double(weight.data[((o * cinG + ci) * kh + ky) * kw + kx])
            } } }
            out.data[((b * outChannels + o) * ho + oy) * wo + ox] = Float(acc)
        } } } }
        return out
    }
}

/// Unfolds image patches into GEMM columns.
enum Im2Col {
    /// src: [C, h, w] → col: [C*k*k, rows*wo] for output rows [rowStart, rowStart+rows), rows of `channels` only
    /// (a thread's slice; each channel's k·k rows are independent of the others).
    static func fill(_ src: UnsafePointer<Float>, channels: Range<Int>, h: Int, w: Int, k: Int, stride: Int, padding: Int,
                     rowStart: Int, rows: Int, wo: Int, col: UnsafeMutablePointer<Float>) {
        let n = rows * wo
        for c in channels {
            let plane = src + c * h * w
            for ky in 0..<k {
                for kx in 0..<k {
                    let dstRow = col + ((c * k + ky) * k + kx) * n
                    for r in 0..<rows {
                        let iy = (rowStart + r) * stride - padding + ky
                        let d = dstRow + r * wo
                        guard iy >= 0 && iy < h else { d.update(repeating: 0, count: wo); continue }
                        let line = plane + iy * w
                        if stride == 1 {
                            // ix = ox - padding + kx: copy the valid middle, zero the borders.
                            let lo = max(0, padding - kx), hi = min(wo, w + padding - kx)
                            if lo > 0 { d.update(repeating: 0, count: lo) }
                            if hi > lo { (d + lo).update(from: line + (lo - padding + kx), count: hi - lo) }
                            if hi < wo { (d + max(hi, 0)).update(repeating: 0, count: wo - max(hi, 0)) }
                        } else {
                            for ox in 0..<wo {
                                let ix = ox * stride - padding + kx
                                d[ox] = ix >= 0 && ix < w ? line[ix] : 0
                            }
                        }
                    }
                }
            }
        }
    }
}
