/// Vectorised transcendental functions on 8 floats at a time, with scalar references in the tests.
///
/// exp: Cephes-style range reduction x = n·ln2 + r (|r| ≤ ln2/2), degree-6 polynomial, 2ⁿ by exponent bits;
/// relative error ≈ 2 ulp over the clamped range [−87.3, 88.7]. erf: Abramowitz–Stegun 7.1.26 refined with
/// the exp above, |error| ≤ 1.5e-7.
public enum VectorMath {
    public typealias V = SIMD8<Float>

    @inline(__always)
    public static func exp(_ x: V) -> V {
        // Everything stays in vector registers: Swift's SIMD float↔int conversions and rounding fall back to
        // scalar library calls, so rounding uses the 1.5·2²³ trick and 2ⁿ is built from the float's bits.
        let lo = V(repeating: -87.3), hi = V(repeating: 88.7)
        var xc = x.replacing(with: lo, where: x .< lo)
        xc = xc.replacing(with: hi, where: xc .> hi)
        let magic = V(repeating: 12_582_912)  // 1.5·2²³: adding it rounds to an integer, half to even
        let t = xc * V(repeating: 1.442695040888963) + magic
        let n = t - magic
        // r = x − n·ln2 in two parts for accuracy.
        var r = xc - n * V(repeating: 0.693359375)
        r = r - n * V(repeating: -2.12194440e-4)
        var p = V(repeating: 1.9875691500e-4)
        p = p * r + V(repeating: 1.3981999507e-3)
        p = p * r + V(repeating: 8.3334519073e-3)
        p = p * r + V(repeating: 4.1665795894e-2)
        p = p * r + V(repeating: 1.6666665459e-1)
        p = p * r + V(repeating: 5.0000001201e-1)
        let y = p * (r * r) + r + V(repeating: 1)
        let nInt = unsafeBitCast(t, to: SIMD8<Int32>.self) &- unsafeBitCast(magic, to: SIMD8<Int32>.self)
        return y * unsafeBitCast((nInt &+ 127) &<< 23, to: V.self)
    }

    /// x·σ(x)
    @inline(__always)
    public static func silu(_ x: V) -> V { x / (V(repeating: 1) + exp(-x)) }

    /// erf(x) by A&S 7.1.26.
    @inline(__always)
    public static func erf(_ x: V) -> V {
        let a = x.replacing(with: -x, where: x .< 0)
        let t = V(repeating: 1) / (V(repeating: 1) + V(repeating: 0.3275911) * a)
        var p = V(repeating: 1.061405429)
        p = p * t + V(repeating: -1.453152027)
        p = p * t + V(repeating: 1.421413741)
        p = p * t + V(repeating: -0.284496736)
        p = p * t + V(repeating: 0.254829592)
        let y = V(repeating: 1) - p * t * exp(-a * a)
        return y.replacing(with: -y, where: x .< 0)
    }

    /// Exact GELU 0.5·x·(1 + erf(x/√2)).
    @inline(__always)
    public static func gelu(_ x: V) -> V {
        V(repeating: 0.5) * x * (V(repeating: 1) + erf(x * V(repeating: 0.70710678118654752)))
    }

    /// Applies `f` to `count` floats in place, 8 at a time, the tail through a padded vector.
    @inline(__always)
    public static func map(_ p: UnsafeMutablePointer<Float>, count: Int, _ f: (V) -> V) {
        var i = 0
        while i + 8 <= count {
            let v = UnsafeRawPointer(p + i).loadUnaligned(as: V.self)
            UnsafeMutableRawPointer(p + i).storeBytes(of: f(v), as: V.self)
            i += 8
        }
        if i < count {
            var v = V(repeating: 0)
            for j in 0..<(count - i) { v[j] = p[i + j] }
            let y = f(v)
            for j in 0..<(count - i) { p[i + j] = y[j] }
        }
    }

    /// p[i] = f(p[i], q[i]) for `count` floats, 8 at a time (as `map`, with a second operand read alongside).
    @inline(__always)
    public static func map(_ p: UnsafeMutablePointer<Float>, _ q: UnsafePointer<Float>, count: Int, _ f: (V, V) -> V) {
        var i = 0
        while i + 8 <= count {
            let v = UnsafeRawPointer(p + i).loadUnaligned(as: V.self), w = UnsafeRawPointer(q + i).loadUnaligned(as: V.self)
            UnsafeMutableRawPointer(p + i).storeBytes(of: f(v, w), as: V.self)
            i += 8
        }
        if i < count {
            var v = V(repeating: 0), w = V(repeating: 0)
            for j in 0..<(count - i) { (v[j], w[j]) = (p[i + j], q[i + j]) }
            let y = f(v, w)
            for j in 0..<(count - i) { p[i + j] = y[j] }
        }
    }
}
