/// diffusers' Transformer2DModel for continuous inputs (diffusers/models/transformers/transformer_2d.py) and its
/// BasicTransformerBlock (diffusers/models/attention.py) with layer norms: GroupNorm → proj_in → blocks → proj_out
/// → + residual.
struct Transformer2DModel {
    struct Block {
        /// Self-attention (nil: MobileDiffusion's cross-attention-only blocks).
        let selfAttention: (norm: LayerNorm, attn: Attention)?
        let norm2: LayerNorm, attn2: Attention
        let norm3: LayerNorm, ff: FeedForward
        /// attn1 attends to the text (diffusers' `only_cross_attention`) instead of to itself.
        let onlyCross: Bool
    }

    let norm: GroupNorm
    let projIn: Linear, projOut: Linear
    let linearProjection: Bool
    /// Added to the tokens after proj_in (md_position_bands > 0), else nil.
    let positions: FourierPositions?
    let blocks: [Block]

    /// Options of one transformer, from the UNet config.
    struct Options {
        var heads: Int, layers: Int, contextDim: Int, groups: Int
        var linearProjection: Bool, onlyCross: Bool
        var selfAttention = true, sharedKV = false
        var ffActivation = FeedForwardActivation.geglu, ffMult = 4
        var attentionActivation = AttentionActivation.softmax
        /// Fourier bands of the explicit token positions (0: none).
        var positionBands = 0
    }

    init(_ w: WeightStore, _ p: String, channels c: Int, _ o: Options) throws {
        norm = try w.groupNorm(p + ".norm", groups: o.groups, channels: c, eps: 1e-6)
        linearProjection = o.linearProjection
        if o.linearProjection {
            projIn = try w.linear(p + ".proj_in", in: c, out: c)
            projOut = try w.linear(p + ".proj_out", in: c, out: c)
        } else {
            // 1x1 convs: the same product as a linear layer on channels-last tokens.
            projIn = Linear(weight: try w.tensor(p + ".proj_in.weight", shape: [c, c, 1, 1]).reshaped([c, c]), bias: try w.vector(p + ".proj_in.bias", count: c),
                            bf16Only: w.bf16Weights)
            projOut = Linear(weight: try w.tensor(p + ".proj_out.weight", shape: [c, c, 1, 1]).reshaped([c, c]), bias: try w.vector(p + ".proj_out.bias", count: c),
                             bf16Only: w.bf16Weights)
        }
        positions = o.positionBands > 0
            ? FourierPositions(bands: o.positionBands, proj: try w.linear(p + ".pos_proj", in: 4 * o.positionBands, out: c)) : nil
        blocks = try (0..<o.layers).map { i in
            let b = "\(p).transformer_blocks.\(i)"
            let selfAttention = o.selfAttention ? (
                norm: try w.layerNorm(b + ".norm1", dim: c, eps: 1e-5),
                attn: try Attention(w, b + ".attn1", dim: c, contextDim: o.onlyCross ? o.contextDim : nil, heads: o.heads, innerDim: c,
                                    sharedKV: o.sharedKV, activation: o.attentionActivation)) : nil
            return Block(
                selfAttention: selfAttention,
                norm2: try w.layerNorm(b + ".norm2", dim: c, eps: 1e-5),
                attn2: try Attention(w, b + ".attn2", dim: c, contextDim: o.contextDim, heads: o.heads, innerDim: c,
                                     sharedKV: o.sharedKV, activation: o.attentionActivation),
                norm3: try w.layerNorm(b + ".norm3", dim: c, eps: 1e-5),
                ff: try FeedForward(w, b + ".ff", dim: c, mult: o.ffMult, activation: o.ffActivation),
                onlyCross: o.onlyCross)
        }
    }

    /// x: [N, C, H, W], context: [N, S, Dc] → [N, C, H, W]
    func callAsFunction(_ x: Tensor, context: Tensor) -> Tensor {
        // Both projection styles are per-token linear maps here, so the order of permute and proj is immaterial.
        var t = projIn(Resample.toTokens(norm(x)))  // [N, HW, C]
        positions?.add(to: &t, h: x.h, w: x.w)
        for b in blocks {
            if let sa = b.selfAttention { Elementwise.add(&t, sa.attn(sa.norm(t), context: b.onlyCross ? context : nil)) }
            Elementwise.add(&t, b.attn2(b.norm2(t), context: context))
            Elementwise.add(&t, b.ff(b.norm3(t)))
        }
        var out = Resample.fromTokens(projOut(t), h: x.h, w: x.w)
        Elementwise.add(&out, x)
        return out
    }
}
