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

    /// Normalises in place: the affine of `channelAffine` applied to every channel, then SiLU if asked.
    public func apply(_ x: inout Tensor, silu: Bool = false) {
        let (scale, shift) = channelAffine(x)
        let planes = scale.count, total = x.count, spatial = total / max(1, planes)
        OpProfile.measure("groupnorm") { x.data.withUnsafeMutableBufferPointer { p in
            Parallel.forSlices(planes, work: total) { slice in
                for i in slice { ckernels_affine(p.baseAddress! + i * spatial, spatial, scale[i], shift[i], silu ? 1 : 0) }
            }
        } }
    }

    /// Per (image, channel) scale and shift, [N·C] each, such that the normalised x is x·scale + shift: what `apply`
    /// writes, and what a convolution that fuses the norm applies as it reads its input (`ckernels_prologue`).
    func channelAffine(_ x: Tensor) -> (scale: [Float], shift: [Float]) {
        let n = x.shape[0], c = x.shape[1], spatial = x.count / (n * c)
        let cg = c / groups, groupSize = cg * spatial
        var scale = [Float](repeating: 0, count: n * c), shift = scale
        OpProfile.measure("groupnorm") {
            x.data.withUnsafeBufferPointer { p in scale.withUnsafeMutableBufferPointer { sp in shift.withUnsafeMutableBufferPointer { hp in
                // Each (image, group) is reduced by one thread: the same sums in the same order for any thread count.
                Parallel.forSlices(n * groups, work: x.count) { slice in
                    for bg in slice {
                        let b = bg / groups, g = bg % groups
                        // The C kernel (AVX-512 / AVX2 paths); `Moments` is its reference.
                        var mean = 0.0, variance = 0.0
                        ckernels_moments(p.baseAddress! + (b * c + g * cg) * spatial, groupSize, &mean, &variance)
                        let inv = Float(1 / (variance + Double(eps)).squareRoot())
                        for ch in g * cg..<(g + 1) * cg {
                            sp[b * c + ch] = inv * weight[ch]
                            hp[b * c + ch] = bias[ch] - Float(mean) * sp[b * c + ch]
                        }
                    }
                }
            } } }
        }
        return (scale, shift)
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
