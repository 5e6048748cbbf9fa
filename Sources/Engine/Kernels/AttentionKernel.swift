import Foundation

/// Scaled dot-product attention over packed heads, as F.scaled_dot_product_attention.
public enum AttentionKernel {
    /// q: [N, Lq, H*d], k, v: [N, Lk, H*d] → [N, Lq, H*d]. `causal` masks key j > query i (CLIP).
    ///
    /// Scores are materialised one head and one tile of at most `tile` query rows at a time.
    /// `activation: .relu` forms weights as relu(s)/L_k instead of softmax(s) (MobileDiffusion's ReLU attention).
    public static func forward(q: Tensor, k: Tensor, v: Tensor, heads: Int, causal: Bool = false,
                               activation: AttentionActivation = .softmax) -> Tensor {
        let n = q.shape[0], lq = q.shape[1], lk = k.shape[1], inner = q.shape[2], d = inner / heads
        let scale = 1 / Float(d).squareRoot()
        let tile = max(1, min(lq, (1 << 22) / max(lk, 1)))
        var out = Tensor(empty: q.shape)
        OpProfile.measure("attention") {
        q.data.withUnsafeBufferPointer { qp in k.data.withUnsafeBufferPointer { kp in v.data.withUnsafeBufferPointer { vp in
            out.data.withUnsafeMutableBufferPointer { op in Scratch.with(tile * lk) { sbase in
                for b in 0..<n {
                    for h in 0..<heads {
                        let qb = qp.baseAddress! + b * lq * inner + h * d
                        let kb = kp.baseAddress! + b * lk * inner + h * d
                        let vb = vp.baseAddress! + b * lk * inner + h * d
                        let ob = op.baseAddress! + b * lq * inner + h * d
                        var r0 = 0
                        while r0 < lq {
                            let rows = min(tile, lq - r0)
                            // scores[rows, lk] = scale · q[r0..<r0+rows] · kᵀ
                            GEMM.sgemm(transB: true, m: rows, n: lk, k: d, alpha: scale, a: qb + r0 * inner, lda: inner,
                                       b: kb, ldb: inner, c: sbase, ldc: lk)
                            // Rows are independent: split over the render's threads (same bits on any count).
                            Parallel.forSlices(rows, work: rows * lk * 8) { slice in
                                for r in slice {
                                    let valid = causal ? min(lk, r0 + r + 1) : lk
                                    if activation == .softmax {
                                        softmaxRow(sbase + r * lk, count: lk, valid: valid)
                                    } else {
                                        reluRow(sbase + r * lk, count: lk, valid: valid, scale: 1 / Float(lk))
                                    }
                                }
                            }
                            // out[rows, d] = scores · v
                            GEMM.sgemm(m: rows, n: d, k: lk, a: sbase, lda: lk, b: vb, ldb: inner,
                                       c: ob + r0 * inner, ldc: inner)
                            r0 += rows
                        }
                    }
                }
            } }
        } } }
        }
        return out
    }

    /// Softmax over the first `valid` entries; the rest (masked) become 0.
    @inline(__always)
    static func softmaxRow(_ p: UnsafeMutablePointer<Float>, count: Int, valid: Int) {
        var m = -Float.infinity
        for j in 0..<valid { m = max(m, p[j]) }
        let mv = VectorMath.V(repeating: m)
        VectorMath.map(p, count: valid) { VectorMath.exp($0 - mv) }
        var sum: Float = 0
        for j in 0..<valid { sum += p[j] }
        let inv = 1 / sum
        for j in 0..<valid { p[j] *= inv }
        if valid < count { (p + valid).update(repeating: 0, count: count - valid) }
    }

    /// relu(s)·scale over the first `valid` entries; the rest become 0.
    @inline(__always)
    static func reluRow(_ p: UnsafeMutablePointer<Float>, count: Int, valid: Int, scale: Float) {
        let s = VectorMath.V(repeating: scale)
        VectorMath.map(p, count: valid) { $0.replacing(with: 0, where: $0 .< 0) * s }
        if valid < count { (p + valid).update(repeating: 0, count: count - valid) }
    }

    /// Naive reference: per query, per head, Double accumulation.
    public static func naive(q: Tensor, k: Tensor, v: Tensor, heads: Int, causal: Bool = false,
                             activation: AttentionActivation = .softmax) -> Tensor {
        let n = q.shape[0], lq = q.shape[1], lk = k.shape[1], inner = q.shape[2], d = inner / heads
        var out = Tensor(zeros: q.shape)
        for b in 0..<n { for h in 0..<heads { for i in 0..<lq {
            var s = [Double](repeating: -.infinity, count: lk)
            for j in 0..<lk where !causal || j <= i {
                var acc = 0.0
                for e in 0..<d { acc += Double(q.data[(b * lq + i) * inner + h * d + e]) * Double(k.data[(b * lk + j) * inner + h * d + e]) }
                s[j] = acc / Double(d).squareRoot()
            }
            let m = s.max()!
            let ex = activation == .softmax ? s.map { exp($0 - m) } : s.map { max($0, 0) }
            let total = activation == .softmax ? ex.reduce(0, +) : Double(lk)
            for e in 0..<d {
                var acc = 0.0
                for j in 0..<lk { acc += ex[j] / total * Double(v.data[(b * lk + j) * inner + h * d + e]) }
                out.data[(b * lq + i) * inner + h * d + e] = Float(acc)
            }
        } } }
        return out
    }
}
