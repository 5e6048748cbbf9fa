/// Multi-head attention as diffusers' `Attention` with AttnProcessor2_0 (diffusers/models/attention_processor.py):
/// to_q, to_k, to_v (bias optional), softmax(q·kᵀ/√d)·v, to_out.0.
struct Attention {
    let q: Linear, k: Linear, v: Linear, out: Linear
    let heads: Int

    /// Loads `<prefix>.to_q` … `<prefix>.to_out.0`; `contextDim` nil means self-attention.
    /// Legacy VAE names (query/key/value/proj_attn) are accepted as aliases.
    /// `qkvBias`: whether to_q/to_k/to_v carry biases (diffusers' `bias`: False in UNets, True in VAEs).
    init(_ w: WeightStore, _ p: String, dim: Int, contextDim: Int?, heads: Int, innerDim: Int, qkvBias: Bool = false) throws {
        let kv = contextDim ?? dim
        q = try w.linear(p + ".to_q", in: dim, out: innerDim, bias: qkvBias, aliases: [p + ".query"])
        k = try w.linear(p + ".to_k", in: kv, out: innerDim, bias: qkvBias, aliases: [p + ".key"])
        v = try w.linear(p + ".to_v", in: kv, out: innerDim, bias: qkvBias, aliases: [p + ".value"])
        out = try w.linear(p + ".to_out.0", in: innerDim, out: dim, bias: true, aliases: [p + ".proj_attn"])
        self.heads = heads
    }

    /// x: [N, L, dim], context: [N, S, contextDim] or nil → [N, L, dim]
    func callAsFunction(_ x: Tensor, context: Tensor? = nil) -> Tensor {
        let c = context ?? x
        return out(AttentionKernel.forward(q: q(x), k: k(c), v: v(c), heads: heads))
    }
}

/// diffusers' FeedForward with GEGLU (diffusers/models/attention.py): net.0.proj → hidden·gelu(gate) → net.2.
struct FeedForward {
    let proj: Linear, out: Linear
    let inner: Int

    init(_ w: WeightStore, _ p: String, dim: Int, mult: Int = 4) throws {
        inner = dim * mult
        proj = try w.linear(p + ".net.0.proj", in: dim, out: inner * 2)
        out = try w.linear(p + ".net.2", in: inner, out: dim)
    }

    /// x: [N, L, dim] → [N, L, dim]
    func callAsFunction(_ x: Tensor) -> Tensor {
        let hg = proj(x)  // [N, L, 2*inner]: first half hidden, second half gate
        let rows = x.count / x.shape.last!
        var h = Tensor(empty: Array(x.shape.dropLast()) + [inner])
        hg.data.withUnsafeBufferPointer { src in
            h.data.withUnsafeMutableBufferPointer { dst in
                for r in 0..<rows {
                    let s = src.baseAddress! + r * 2 * inner, d = dst.baseAddress! + r * inner
                    (d).update(from: s + inner, count: inner)
                    VectorMath.map(d, count: inner, VectorMath.gelu)
                    for j in 0..<inner { d[j] *= s[j] }
                }
            }
        }
        return out(h)
    }
}
