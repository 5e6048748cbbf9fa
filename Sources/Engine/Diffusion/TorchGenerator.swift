import Foundation

/// A bit-compatible re-implementation of `torch.Generator("cpu")` for `torch.randn` in float32
/// (aten/src/ATen/core/MT19937RNGEngine.h, aten/src/ATen/native/cpu/DistributionTemplates.h).
///
/// MT19937 seeded with the low 32 bits of the seed; one 32-bit draw per float uniform
/// u = (x & 0xFFFFFF)·2⁻²⁴. Tensors of ≥ 16 elements are filled with uniforms first, then Box–Muller in blocks
/// of 16 pairing element j with j+8 (the last 16 recomputed from fresh uniforms when the count is not a
/// multiple of 16). Smaller tensors draw double-precision normals one by one, caching the second value of
/// each pair as torch does.
public struct TorchGenerator: Sendable {
    private var state = [UInt32](repeating: 0, count: 624)
    private var next = 0
    private var left = 1
    private var cachedNormal: Double?

    /// Equivalent to `torch.Generator("cpu").manual_seed(seed)`.
    public init(seed: UInt64) {
        state[0] = UInt32(truncatingIfNeeded: seed)
        for j in 1..<624 {
            state[j] = 1_812_433_253 &* (state[j - 1] ^ (state[j - 1] >> 30)) &+ UInt32(j)
        }
    }

    private mutating func twist() {
        let n = 624, m = 397
        for i in 0..<n {
            let y = (state[i] & 0x8000_0000) | (state[(i + 1) % n] & 0x7FFF_FFFF)
            state[i] = state[(i + m) % n] ^ (y >> 1) ^ ((y & 1) != 0 ? 0x9908_B0DF : 0)
        }
        left = n
        next = 0
    }

    /// The next tempered 32-bit output.
    public mutating func nextUInt32() -> UInt32 {
        left -= 1
        if left == 0 { twist() }
        var y = state[next]
        next += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    mutating func uniformFloat() -> Float {
        Float(nextUInt32() & 0xFF_FFFF) * Float(1.0 / 16_777_216.0)
    }

    mutating func uniformDouble() -> Double {
        let hi = UInt64(nextUInt32()), lo = UInt64(nextUInt32())
        return Double(((hi << 32) | lo) & ((1 << 53) - 1)) * 0x1p-53
    }

    /// One standard normal from at::normal_distribution<double> (the path for tensors under 16 elements).
    mutating func normalDouble() -> Double {
        if let c = cachedNormal { cachedNormal = nil; return c }
        let u1 = uniformDouble(), u2 = uniformDouble()
        let r = (-2.0 * log1p(-u2)).squareRoot()
        let theta = 2.0 * Double.pi * u1
        cachedNormal = r * sin(theta)
        return r * cos(theta)
    }

    /// `torch.randn(shape, generator=g)` in float32.
    public mutating func randn(_ shape: [Int]) -> Tensor {
        let count = shape.reduce(1, *)
        var out = Tensor(zeros: shape)
        guard count >= 16 else {
            for i in 0..<count { out.data[i] = Float(normalDouble()) }
            return out
        }
        for i in 0..<count { out.data[i] = uniformFloat() }
        out.data.withUnsafeMutableBufferPointer { p in
            for i in stride(from: 0, to: count - 15, by: 16) { Self.boxMuller16(p.baseAddress! + i) }
            if count % 16 != 0 {
                let tail = p.baseAddress! + count - 16
                for i in 0..<16 { tail[i] = uniformFloat() }
                Self.boxMuller16(tail)
            }
        }
        return out
    }

    /// Box–Muller over 16 uniforms: data[j], data[j+8] ← r·cos θ, r·sin θ with r = √(−2 ln(1−u_j)), θ = 2π·u_{j+8}.
    /// θ is rounded to float as torch's AVX2 path does; the transcendental functions run in double.
    static func boxMuller16(_ d: UnsafeMutablePointer<Float>) {
        let twoPi = Float(2.0 * Double.pi)
        for j in 0..<8 {
            let u1 = 1 - d[j], u2 = d[j + 8]
            let radius = (-2 * log(Double(u1))).squareRoot()
            let theta = Double(twoPi * u2)
            d[j] = Float(radius * cos(theta))
            d[j + 8] = Float(radius * sin(theta))
        }
    }
}
