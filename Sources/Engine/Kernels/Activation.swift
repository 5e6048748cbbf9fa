import Foundation

/// Element-wise activations and arithmetic on raw buffers.
public enum Activation: String, Sendable {
    case silu, gelu, quickGelu = "quick_gelu", geluTanh = "gelu_pytorch_tanh", relu

    /// Parses a diffusers/transformers `act_fn` / `hidden_act` name.
    public init?(name: String) {
        switch name {
        case "silu", "swish": self = .silu
        case "gelu": self = .gelu
        case "quick_gelu": self = .quickGelu
        case "gelu_pytorch_tanh", "gelu_new", "gelu_fast": self = .geluTanh
        case "relu": self = .relu
        default: return nil
        }
    }

    @inline(__always)
    public func scalar(_ x: Float) -> Float {
        switch self {
        case .silu: return x / (1 + expf(-x))
        case .gelu: return 0.5 * x * (1 + erff(x * 0.70710678118654752))
        case .quickGelu: return x / (1 + expf(-1.702 * x))
        case .geluTanh: return 0.5 * x * (1 + tanhf(0.7978845608028654 * (x + 0.044715 * x * x * x)))
        case .relu: return max(x, 0)
        }
    }

    /// Applies in place to `count` elements.
    public func apply(_ p: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .silu: VectorMath.map(p, count: count, VectorMath.silu)
        case .gelu: VectorMath.map(p, count: count, VectorMath.gelu)
        case .quickGelu: VectorMath.map(p, count: count) { $0 / (1 + VectorMath.exp($0 * -1.702)) }
        case .relu: VectorMath.map(p, count: count) { $0.replacing(with: 0, where: $0 .< 0) }
        case .geluTanh: for i in 0..<count { p[i] = scalar(p[i]) }
        }
    }

    public func apply(_ t: inout Tensor) {
        OpProfile.measure("activation") { t.data.withUnsafeMutableBufferPointer { p in
            Parallel.forSlices(p.count / 64, work: p.count) { s in
                let end = s.upperBound == p.count / 64 ? p.count : s.upperBound * 64
                apply(p.baseAddress! + s.lowerBound * 64, count: end - s.lowerBound * 64)
            }
        } }
    }

    /// p = p*scale + shift, then SiLU if asked: the reference for GroupNorm's fused epilogue (`ckernels_affine`).
    @inline(__always)
    static func affine(_ p: UnsafeMutablePointer<Float>, count: Int, scale: Float, shift: Float, silu: Bool) {
        let s = VectorMath.V(repeating: scale), b = VectorMath.V(repeating: shift)
        if silu {
            VectorMath.map(p, count: count) { VectorMath.silu($0 * s + b) }
        } else {
            VectorMath.map(p, count: count) { $0 * s + b }
        }
    }
}

/// In-place arithmetic helpers on tensors of equal element count.
public enum Elementwise {
    /// a += b
    public static func add(_ a: inout Tensor, _ b: Tensor) {
        precondition(a.count == b.count, "add: \(a.shape) vs \(b.shape)")
        OpProfile.measure("add") { a.data.withUnsafeMutableBufferPointer { ap in
            b.data.withUnsafeBufferPointer { bp in
                // Eight lanes at a time: the loop over buffer subscripts compiled to scalar `addss` with the pointers
                // reloaded per element (1.7 % of the default model's daemon time). Each sum is the same fp32 addition.
                Parallel.forSlices(ap.count, work: ap.count) { s in
                    VectorMath.map(ap.baseAddress! + s.lowerBound, bp.baseAddress! + s.lowerBound, count: s.count) { $0 + $1 }
                }
            }
        } }
    }

    /// a *= s
    public static func scale(_ a: inout Tensor, _ s: Float) {
        a.data.withUnsafeMutableBufferPointer { ap in for i in 0..<ap.count { ap[i] *= s } }
    }

    /// x: [N, C, H, W] += v[n, c] broadcast over H, W (a ResNet block's time embedding).
    public static func addChannelBias(_ x: inout Tensor, _ v: Tensor) {
        let spatial = x.h * x.w, nc = x.n * x.c, total = x.count
        precondition(v.count == nc)
        OpProfile.measure("add") { x.data.withUnsafeMutableBufferPointer { xp in
            Parallel.forSlices(nc, work: total) { s in
                for i in s { let b = v.data[i]; let p = xp.baseAddress! + i * spatial; for j in 0..<spatial { p[j] += b } }
            }
        } }
    }
}
