/// Multi-head attention as diffusers' `Attention` with AttnProcessor2_0 (diffusers/models/attention_processor.py):
/// to_q, to_k, to_v (bias optional), softmax(q·kᵀ/√d)·v, to_out.0.
///
/// MobileDiffusion options: a shared key/value projection (no to_v; V = K, computed once) and ReLU attention.
struct Attention {
    let q: Linear, k: Linear, v: Linear?, out: Linear
    let heads: Int
    let activation: AttentionActivation

    /// Loads `<prefix>.to_q` … `<prefix>.to_out.0`; `contextDim` nil means self-attention.
    /// Legacy VAE names (query/key/value/proj_attn) are accepted as aliases.
    /// `qkvBias`: whether to_q/to_k/to_v carry biases (diffusers' `bias`: False in UNets, True in VAEs).
    init(_ w: WeightStore, _ p: String, dim: Int, contextDim: Int?, heads: Int, innerDim: Int, qkvBias: Bool = false,
         sharedKV: Bool = false, activation: AttentionActivation = .softmax) throws {
        let kv = contextDim ?? dim
        q = try w.linear(p + ".to_q", in: dim, out: innerDim, bias: qkvBias, aliases: [p + ".query"])
        k = try w.linear(p + ".to_k", in: kv, out: innerDim, bias: qkvBias, aliases: [p + ".key"])
        v = sharedKV ? nil : try w.linear(p + ".to_v", in: kv, out: innerDim, bias: qkvBias, aliases: [p + ".value"])
        out = try w.linear(p + ".to_out.0", in: innerDim, out: dim, bias: true, aliases: [p + ".proj_attn"])
        self.heads = heads
        self.activation = activation
    }

    /// x: [N, L, dim], context: [N, S, contextDim] or nil → [N, L, dim]
    func callAsFunction(_ x: Tensor, context: Tensor? = nil) -> Tensor {
        let c = context ?? x
        let keys = k(c)
        return out(AttentionKernel.forward(q: q(x), k: keys, v: v.map { $0(c) } ?? keys, heads: heads, activation: activation))
    }
}

/// diffusers' FeedForward with GEGLU (diffusers/models/attention.py): net.0.proj → hidden·gelu(gate) → net.2;
/// or SwiGLU, hidden·silu(gate), with MobileDiffusion's expansion 6.
struct FeedForward {
    let proj: Linear, out: Linear
    let inner: Int
    let activation: FeedForwardActivation

    init(_ w: WeightStore, _ p: String, dim: Int, mult: Int = 4, activation: FeedForwardActivation = .geglu) throws {
        inner = dim * mult
        self.activation = activation
        proj = try w.linear(p + ".net.0.proj", in: dim, out: inner * 2)
        out = try w.linear(p + ".net.2", in: inner, out: dim)
    }

    /// x: [N, L, dim] → [N, L, dim]
    func callAsFunction(_ x: Tensor) -> Tensor {
        let hg = proj(x)  // [N, L, 2*inner]: first half hidden, second half gate
        let rows = x.count / x.shape.last!
        var h = Tensor(empty: Array(x.shape.dropLast()) + [inner])
        OpProfile.measure("feedforward gate") { hg.data.withUnsafeBufferPointer { src in
            h.data.withUnsafeMutableBufferPointer { dst in
                // Rows are independent: split over the render's threads (same arithmetic per row for any count).
                Parallel.forSlices(rows, work: rows * inner * 8) { slice in
                    for r in slice {
                        let s = src.baseAddress! + r * 2 * inner, d = dst.baseAddress! + r * inner
                        d.update(from: s + inner, count: inner)
                        VectorMath.map(d, count: inner, activation == .geglu ? VectorMath.gelu : VectorMath.silu)
                        for j in 0..<inner { d[j] *= s[j] }
                    }
                }
            }
        } }
        return out(h)
    }
}
