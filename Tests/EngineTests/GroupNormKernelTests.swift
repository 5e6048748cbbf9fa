import CKernels
@testable import Engine
import XCTest

/// GroupNorm's C kernels (`ckernels_moments`, `ckernels_affine`) on every path the CPU has, against their Swift
/// references (`Moments.meanVariance`, `Activation.affine`) and the definitions, on lengths with every tail (0–15
/// past a 16-lane body), across the 1,024-value block edge, and on values far from zero (where a one-pass variance
/// would cancel).
final class GroupNormKernelTests: XCTestCase {
    private func values(_ n: Int, offset: Float, seed: UInt64) -> [Float] {
        var rng = SplitMix(seed: seed)
        return (0..<n).map { _ in offset + (rng.nextFloat() * 2 - 1) * 3 }
    }

    func testMomentsMatchDoublePrecisionDefinition() {
        for n in [1, 3, 15, 16, 17, 31, 1023, 1024, 1025, 4099, 65536 + 7] {
            for offset: Float in [0, 100] {
                let x = values(n, offset: offset, seed: UInt64(n))
                let mean = x.reduce(0.0) { $0 + Double($1) } / Double(n)
                let variance = x.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(n)
                let reference = x.withUnsafeBufferPointer { Moments.meanVariance($0.baseAddress!, count: n) }
                XCTAssertEqual(reference.0, mean, accuracy: 1e-9 * max(1, abs(mean)))
                for level in 0...ckernels_simd_level() {
                    var m = 0.0, v = 0.0
                    ckernels_moments_level(level, x, n, &m, &v)
                    XCTAssertEqual(m, mean, accuracy: 1e-6 * max(1, abs(mean)), "level \(level) n \(n) offset \(offset) mean")
                    XCTAssertEqual(v, variance, accuracy: 1e-5 * max(1e-3, variance), "level \(level) n \(n) offset \(offset) variance")
                }
            }
        }
    }

    func testAffineWithAndWithoutSiLUMatchesReference() {
        for n in Array(0...33) + [1000, 4096 + 5] {
            let x = values(n, offset: 0, seed: 1000 + UInt64(n)).map { $0 * 10 }  // ±30: exp's clamped range too
            for silu in [false, true] {
                var reference = x
                reference.withUnsafeMutableBufferPointer { Activation.affine($0.baseAddress!, count: n, scale: 1.5, shift: -0.25, silu: silu) }
                for level in 0...ckernels_simd_level() {
                    var y = x
                    ckernels_affine_level(level, &y, n, 1.5, -0.25, silu ? 1 : 0)
                    for i in 0..<n {
                        let v = x[i] * 1.5 - 0.25, exact = silu ? v / (1 + expf(-v)) : v
                        XCTAssertEqual(y[i], exact, accuracy: 2e-6 * max(1, abs(exact)), "level \(level) silu \(silu) n \(n) index \(i)")
                        XCTAssertEqual(y[i], reference[i], accuracy: 2e-6 * max(1, abs(exact)), "level \(level) vs Swift, index \(i)")
                    }
                }
            }
        }
    }
}
