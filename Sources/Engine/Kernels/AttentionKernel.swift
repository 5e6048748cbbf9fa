import CKernels
import Foundation

/// Scaled dot-product attention over packed heads, as F.scaled_dot_product_attention.
public enum AttentionKernel {
    /// q: [N, Lq, H*d], k, v: [N, Lk, H*d] → [N, Lq, H*d]. `causal` masks key j > query i (CLIP).
    ///
    /// The work is cut into tiles of at most `tileRows` query rows of one head (a shape-only size, so the result does
    /// not depend on the thread count), and each of the render's threads carries its run of tiles through all three
    /// steps — scores = scale·q·kᵀ, softmax, scores·v — while its [rows, Lk] scores are still in cache. (One tile of
    /// up to 2^22 scores at a time, split step by step over the threads, sent a 4096-token layer's 64 MB of scores
    /// through memory three times.) In bf16 each head's k and v are rounded once, not per tile.
    /// `activation: .relu` forms weights as relu(s)/L_k instead of softmax(s) (MobileDiffusion's ReLU attention).
    public static func forward(q: Tensor, k: Tensor, v: Tensor, heads: Int, causal: Bool = false,
                               activation: AttentionActivation = .softmax) -> Tensor {
        let n = q.shape[0], lq = q.shape[1], lk = k.shape[1], inner = q.shape[2], d = inner / heads
        let rows = tileRows(lq: lq, lk: lk), tilesPerHead = (lq + rows - 1) / rows
        let items = n * heads * tilesPerHead, threads = min(Parallel.threads, items)
        // Decided here: `BF16.isActive` is the calling thread's, and the tiles run on the pool's threads too.
        let native = BF16.isActive && GEMM.nativeBF16, emulated = BF16.isActive && !GEMM.nativeBF16
        // Native bf16: k and v rounded once for every head, and per thread the tile's q and weights in bf16.
        let kCopy = native ? BF16Copy(of: k.data) : nil, vCopy = native ? BF16Copy(of: v.data) : nil
        let kh = kCopy?.values, vh = vCopy?.values
        let perThread = rows * lk + (native ? (rows * lk + rows * d + 1) / 2 : 0)
        var out = Tensor(empty: q.shape)
        withExtendedLifetime((kCopy, vCopy)) {  // kh and vh point into them
        OpProfile.measure("attention") {
        q.data.withUnsafeBufferPointer { qp in k.data.withUnsafeBufferPointer { kp in v.data.withUnsafeBufferPointer { vp in
            out.data.withUnsafeMutableBufferPointer { op in Scratch.with(threads * perThread + 16) { scratch in
                Parallel.forEach(threads) { t in
                    var tile = Tile(rows: rows, lk: lk, d: d, inner: inner, causal: causal, activation: activation,
                                    scores: scratch + t * perThread)
                    for item in (items * t / threads)..<(items * (t + 1) / threads) {
                        let bh = item / tilesPerHead, b = bh / heads, h = bh % heads, r0 = (item % tilesPerHead) * rows
                        let at = (b * lq + r0) * inner + h * d, kv = b * lk * inner + h * d
                        tile.rows = min(rows, lq - r0)
                        tile.r0 = r0
                        if let kh, let vh {
                            tile.nativeBF16(q: qp.baseAddress! + at, k: kh + kv, v: vh + kv, out: op.baseAddress! + at)
                        } else {
                            let (qt, kt, vt, ot) = (qp.baseAddress! + at, kp.baseAddress! + kv, vp.baseAddress! + kv, op.baseAddress! + at)
                            if emulated { BF16.with(.bf16) { tile.fp32(q: qt, k: kt, v: vt, out: ot) } } else { tile.fp32(q: qt, k: kt, v: vt, out: ot) }
                        }
                    }
                }
            } }
        } } }
        }
        }
        return out
    }

    /// Query rows per tile: scores of ~2^18 floats (1 MiB, within a core's L2), at least 16 rows, at most Lq.
    static func tileRows(lq: Int, lk: Int) -> Int { max(1, min(lq, max(16, (1 << 18) / max(lk, 1)))) }

    /// One tile of query rows of one head, on the calling thread: inside a pool job the products and the softmax
    /// split no further (they run serially). q, out: [rows, d] and k, v: [lk, d], all at row stride `inner`.
    struct Tile {
        var rows: Int
        let lk: Int, d: Int, inner: Int
        let causal: Bool, activation: AttentionActivation
        /// [rows, lk] fp32, then (native bf16) [rows, lk] and [rows, d] bf16.
        let scores: UnsafeMutablePointer<Float>
        var r0 = 0

        init(rows: Int, lk: Int, d: Int, inner: Int, causal: Bool, activation: AttentionActivation,
             scores: UnsafeMutablePointer<Float>) {
            (self.rows, self.lk, self.d, self.inner) = (rows, lk, d, inner)
            (self.causal, self.activation, self.scores) = (causal, activation, scores)
        }

        var scale: Float { 1 / Float(d).squareRoot() }

        /// fp32 products (or, inside `BF16.with(.bf16)` without native bf16, the emulation's rounded operands).
        func fp32(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>) {
            GEMM.sgemm(transB: true, m: rows, n: lk, k: d, alpha: scale, a: q, lda: inner, b: k, ldb: inner, c: scores, ldc: lk)
            weights()
            GEMM.sgemm(m: rows, n: d, k: lk, a: scores, lda: lk, b: v, ldb: inner, c: out, ldc: inner)
        }

        /// Native bf16 products on k and v rounded once (`BF16Copy`); q and the weights are rounded here, the same
        /// rounding as `GEMM.sgemm`'s (nearest even), with fp32 sums.
        func nativeBF16(q: UnsafePointer<Float>, k: UnsafePointer<UInt16>, v: UnsafePointer<UInt16>, out: UnsafeMutablePointer<Float>) {
            (scores + rows * lk).withMemoryRebound(to: UInt16.self, capacity: rows * lk + rows * d) { half in
                let qh = half + rows * lk
                for r in 0..<rows { OneDNN.toBF16(q + r * inner, qh + r * d, count: d) }
                GEMM.bf16Product(transB: true, m: rows, n: lk, k: d, alpha: scale, a: qh, lda: d, b: k, ldb: inner,
                                 c: scores, ldc: lk)
                weights(bf16: half)
                GEMM.bf16Product(m: rows, n: d, k: lk, a: half, lda: lk, b: v, ldb: inner, c: out, ldc: inner)
            }
        }

        /// Each score row → its weights: softmax, or relu(s)/Lk; masked keys become 0. In place, or with `bf16`,
        /// into `bf16` rounded (the ·V product's operand; the softmax kernel writes it directly).
        private func weights(bf16: UnsafeMutablePointer<UInt16>? = nil) {
            for r in 0..<rows {
                let valid = causal ? min(lk, r0 + r + 1) : lk, row = scores + r * lk
                if activation == .softmax,
                   ckernels_softmax_row(row, lk, valid, bf16.map { $0 + r * lk }) == 0 { continue }  // AVX2 / AVX-512
                if activation == .softmax {
                    softmaxRow(row, count: lk, valid: valid)
                } else {
                    reluRow(row, count: lk, valid: valid, scale: 1 / Float(lk))
                }
                if let bf16 { OneDNN.toBF16(row, bf16 + r * lk, count: lk) }
            }
        }
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

