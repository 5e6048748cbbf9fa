import CKernels
@testable import Engine
import XCTest

/// The direct 3×3 kernel for few-channel layers (every path the CPU has: AVX-512, AVX2 + FMA, portable C) against
/// `Conv2d.naive`, on channel counts that are not multiples of the 4-channel block, widths that are not multiples of
/// 16 or 32 (tails of 1–31 pixels), and tiny heights; and the layer choice.
final class DirectConvTests: XCTestCase {
    private func check(cin: Int, cout: Int, h: Int, w: Int, bias: Bool, seed: UInt64) {
        var rng = SplitMix(seed: seed)
        func r() -> Float { Float(Double(rng.next() % 2001) / 1000 - 1) }
        let x = Tensor(shape: [1, cin, h, w], data: (0..<(cin * h * w)).map { _ in r() })
        let weight = Tensor(shape: [cout, cin, 3, 3], data: (0..<(cout * cin * 9)).map { _ in r() * 0.3 })
        let b: [Float]? = bias ? (0..<cout).map { _ in r() } : nil
        let expected = Conv2d(weight: weight, bias: b, padding: 1, useWinograd: false).naive(x)
        let plan = DirectConvPlan(weight: weight.data, cout: cout, cin: cin)
        var fast = [Float](repeating: .nan, count: cout * h * w)
        x.data.withUnsafeBufferPointer { xp in fast.withUnsafeMutableBufferPointer { plan.convolve(xp.baseAddress!, h: h, w: w, bias: b, $0.baseAddress!) } }
        // The portable path on the same padded input.
        let wp = w + 2 + 16
        var padded = [Float](repeating: 0, count: cin * (h + 2) * wp)
        for c in 0..<cin { for y in 0..<h { for i in 0..<w { padded[(c * (h + 2) + y + 1) * wp + 1 + i] = x.data[(c * h + y) * w + i] } } }
        let scale = max(1, expected.data.map(abs).max() ?? 1)
        for i in expected.data.indices {
            XCTAssertEqual(fast[i], expected.data[i], accuracy: 1e-5 * scale, "fast \(cin)->\(cout) \(h)x\(w) index \(i)")
        }
        // Every path this CPU has (portable C, AVX2, AVX-512) on the same padded input.
        for level in 0...ckernels_simd_level() {
            var out = [Float](repeating: .nan, count: cout * h * w)
            plan.packed.withUnsafeBufferPointer { pk in
                ckernels_conv3x3_level(level, padded, Int32(cin), Int32(h), Int32(w), pk.baseAddress!, Int32(cout), b, &out, 0, Int32(h))
            }
            for i in expected.data.indices {
                XCTAssertEqual(out[i], expected.data[i], accuracy: 1e-5 * scale, "level \(level) \(cin)->\(cout) \(h)x\(w) index \(i)")
            }
        }
    }

    func testMatchesNaiveOnOddShapes() {
        print("[direct-conv] widest path on this CPU: \(["portable C", "AVX2 + FMA", "AVX-512"][Int(ckernels_simd_level())])")
        var seed: UInt64 = 1
        for (cin, cout, h, w) in [(1, 1, 1, 1), (3, 5, 2, 7), (5, 7, 3, 19), (8, 4, 5, 16), (16, 16, 9, 33), (13, 6, 4, 48),
                                  (2, 9, 17, 8), (4, 6, 3, 17), (6, 5, 2, 64), (3, 4, 2, 95)] {
            for bias in [false, true] { check(cin: cin, cout: cout, h: h, w: w, bias: bias, seed: seed); seed += 1 }
        }
    }

    /// The depthwise 3×3 kernel (`ckernels_depthwise3x3`) on every path the CPU has, against `Conv2d.naive` with
    /// groups == channels: widths 1–40 (every tail of 4, 8 and 16 lanes), short and tall planes, with and without bias.
    func testDepthwiseEveryPathMatchesNaive() {
        var rng = SplitMix(seed: 99)
        for (c, h, w) in [(1, 1, 1), (3, 2, 5), (4, 7, 8), (5, 4, 9), (6, 16, 16), (3, 3, 17), (2, 5, 31), (7, 9, 40), (2, 33, 3)] {
            for useBias in [false, true] {
                let x = Tensor(shape: [1, c, h, w], data: (0..<(c * h * w)).map { _ in rng.nextFloat() * 2 - 1 })
                let weight = Tensor(shape: [c, 1, 3, 3], data: (0..<(c * 9)).map { _ in rng.nextFloat() - 0.5 })
                let bias: [Float]? = useBias ? (0..<c).map { _ in rng.nextFloat() } : nil
                let expected = Conv2d(weight: weight, bias: bias, padding: 1, groups: c).naive(x)
                for level in 0...ckernels_simd_level() {
                    var out = [Float](repeating: .nan, count: c * h * w)
                    XCTAssertEqual(ckernels_depthwise3x3_level(level, x.data, Int32(h), Int32(w), weight.data, bias, &out, 0, Int32(c)), 0)
                    for i in out.indices {
                        XCTAssertEqual(out[i], expected.data[i], accuracy: 1e-5, "level \(level) \(c)x\(h)x\(w) bias \(useBias) index \(i)")
                    }
                }
            }
        }
    }

    func testConv2dUsesItWhereItPaysAndAgrees() {
        var rng = SplitMix(seed: 42)
        let x = Tensor(shape: [2, 16, 20, 24], data: (0..<(2 * 16 * 20 * 24)).map { _ in Float(Double(rng.next() % 2001) / 1000 - 1) })
        let weight = Tensor(shape: [12, 16, 3, 3], data: (0..<(12 * 16 * 9)).map { _ in Float(Double(rng.next() % 2001) / 1000 - 1) * 0.2 })
        let conv = Conv2d(weight: weight, bias: (0..<12).map { Float($0) / 10 }, padding: 1)
        XCTAssertNotNil(conv.direct)
        XCTAssertTrue(conv.direct!.pays(h: 512, w: 512))                 // ≤ 32 channels: any size
        let wide = Conv2d(weight: Tensor(zeros: [64, 64, 3, 3]), bias: nil, padding: 1)
        XCTAssertTrue(wide.direct!.pays(h: 32, w: 32) && !wide.direct!.pays(h: 128, w: 128))  // 64 channels: small only
        XCTAssertNil(Conv2d(weight: Tensor(zeros: [128, 64, 3, 3]), bias: nil, padding: 1).direct)
        XCTAssertNil(Conv2d(weight: Tensor(zeros: [8, 8, 3, 3]), bias: nil, stride: 2, padding: 1).direct)
        let y = conv(x), expected = conv.naive(x)
        for i in y.data.indices { XCTAssertEqual(y.data[i], expected.data[i], accuracy: 2e-5) }
    }
}
