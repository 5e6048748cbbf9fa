import CKernels
import Foundation

/// torch.nn.GroupNorm over [N, C, *spatial], with an optional fused SiLU (the ResNet-block pattern).
public struct GroupNorm: Sendable {
    public let groups: Int
    public let eps: Float
    /// weight, bias: [C]
    public let weight: [Float]
    public let bias: [Float]

    public init(groups: Int, eps: Float, weight: [Float], bias: [Float]) {
        self.groups = groups
        self.eps = eps
        self.weight = weight
        self.bias = bias
    }

    /// x: [N, C, ...] → same shape.
    public func callAsFunction(_ x: Tensor, silu: Bool = false) -> Tensor {
        var out = x
        apply(&out, silu: silu)
        return out
    }

    /// Normalises in place.
    public func apply(_ x: inout Tensor, silu: Bool = false) {
        let n = x.shape[0], c = x.shape[1], spatial = x.count / (n * c)
        let cg = c / groups, groupSize = cg * spatial, total = x.count
        OpProfile.measure("groupnorm") { x.data.withUnsafeMutableBufferPointer { p in
            // Each (image, group) is normalised by one thread: the same sums in the same order for any thread count.
            Parallel.forSlices(n * groups, work: total) { slice in
                for bg in slice {
                    let b = bg / groups, g = bg % groups
                    let base = p.baseAddress! + (b * c + g * cg) * spatial
                    // The C kernels (AVX-512 / AVX2 paths); `Moments` and `Activation.affine` are their references.
                    var mean = 0.0, variance = 0.0
                    ckernels_moments(base, groupSize, &mean, &variance)
                    let inv = Float(1 / (variance + Double(eps)).squareRoot())
                    for ci in 0..<cg {
                        let ch = g * cg + ci
                        let scale = inv * weight[ch], shift = bias[ch] - Float(mean) * scale
                        ckernels_affine(base + ci * spatial, spatial, scale, shift, silu ? 1 : 0)
                    }
                }
            }
        } }
    }
}

/// torch.nn.LayerNorm over the last dimension.
public struct LayerNorm: Sendable {
    public let eps: Float
    /// weight, bias: [D]
    public let weight: [Float]
    public let bias: [Float]

    public init(eps: Float, weight: [Float], bias: [Float]) {
        self.eps = eps
        self.weight = weight
        self.bias = bias
    }

    /// x: [..., D] → same shape.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        var out = x
        let d = weight.count, rows = x.count / d
        OpProfile.measure("layernorm") { out.data.withUnsafeMutableBufferPointer { p in
            // One row per thread at a time: the same sums in the same order for any thread count.
            Parallel.forSlices(rows, work: rows * d * 4) { slice in
                for r in slice {
                    let row = p.baseAddress! + r * d
                    let (mean, variance) = Moments.meanVariance(row, count: d)
                    let inv = Float(1 / (variance + Double(eps)).squareRoot()), m = Float(mean)
                    for j in 0..<d { row[j] = (row[j] - m) * inv * weight[j] + bias[j] }
                }
            }
        } }
        return out
    }
}

/// Mean and biased variance, accumulated in Double so that long groups (64x64x32) stay exact enough.
enum Moments {
    static func meanVariance(_ p: UnsafePointer<Float>, count: Int) -> (Double, Double) {
        // Two passes, 4 double lanes each, so a 64x64x32 group keeps ~1e-12 relative accuracy.
        var acc = SIMD4<Double>(repeating: 0)
        var i = 0
        while i + 4 <= count {
            acc += SIMD4<Double>(Double(p[i]), Double(p[i + 1]), Double(p[i + 2]), Double(p[i + 3]))
            i += 4
        }
        var sum = acc.sum()
        while i < count { sum += Double(p[i]); i += 1 }
        let mean = sum / Double(count)
        let m = SIMD4<Double>(repeating: mean)
        acc = .zero
        i = 0
        while i + 4 <= count {
            let d = SIMD4<Double>(Double(p[i]), Double(p[i + 1]), Double(p[i + 2]), Double(p[i + 3])) - m
            acc += d * d
            i += 4
        }
        var sq = acc.sum()
        while i < count { let d = Double(p[i]) - mean; sq += d * d; i += 1 }
        return (mean, sq / Double(count))
    }
}
