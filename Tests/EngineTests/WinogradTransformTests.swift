import CKernels
@testable import Engine
import XCTest

/// The C transforms (AVX2) against the Swift ones they twin: the same arithmetic in the same order, so the same bits,
/// on shapes with ragged tiles (width and height not multiples of 4, tile rows not multiples of 8) and a band that
/// starts mid-image.
final class WinogradTransformTests: XCTestCase {
    private func randoms(_ n: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix(seed: seed)
        return (0..<n).map { _ in Float(Double(rng.next() % 2_000_001) / 1_000_000 - 1) }
    }

    func testCTransformsGiveTheSwiftTransformsBits() throws {
        guard ckernels_simd_level() >= 1 else {
            print("SKIP (no AVX2): \(name) — the Swift transforms run alone on this CPU")
            throw XCTSkip("no AVX2")
        }
        for (h, w, cin, cout) in [(13, 37, 3, 5), (16, 64, 2, 4), (9, 5, 4, 3), (40, 70, 3, 2)] {
            let tilesW = (w + 3) / 4, tilesH = (h + 3) / 4
            for (t0, rows) in [(0, tilesH), (1, max(1, tilesH - 2))] {
                let tiles = rows * tilesW
                let src = randoms(cin * h * w, seed: UInt64(h * w))
                var vSwift = [Float](repeating: 0, count: 36 * cin * tiles + 64), vC = vSwift
                Winograd.transformInput(src, channels: 0..<cin, cin: cin, h: h, w: w, tileRow0: t0, rows: rows, tilesW: tilesW, v: &vSwift)
                XCTAssertEqual(ckernels_winograd_input(src, 0, Int32(cin), Int32(cin), Int32(h), Int32(w), Int32(t0), Int32(rows),
                                                       Int32(tilesW), nil, &vC), 0)
                XCTAssertEqual(vC, vSwift, "input transform \(h)x\(w), band \(t0)+\(rows)")
                // The bf16-storing twin: bit for bit the fp32 transform rounded as every other bf16 operand.
                var vH = [UInt16](repeating: 0, count: 36 * cin * tiles), vRounded = vH
                XCTAssertEqual(ckernels_winograd_input_bf16(src, 0, Int32(cin), Int32(cin), Int32(h), Int32(w), Int32(t0), Int32(rows),
                                                            Int32(tilesW), nil, &vH), 0)
                OneDNN.toBF16(vC, &vRounded, count: vRounded.count)
                XCTAssertEqual(vH, vRounded, "bf16 input transform \(h)x\(w), band \(t0)+\(rows)")

                let m = randoms(36 * cout * tiles + 64, seed: UInt64(cout * 7 + w))
                let bias = randoms(cout, seed: 3)
                var dSwift = randoms(cout * h * w, seed: 4), dC = dSwift  // untouched rows must stay as they were
                Winograd.transformOutput(m, outputs: 0..<cout, cout: cout, h: h, w: w, tileRow0: t0, rows: rows, tilesW: tilesW,
                                         bias: bias, dst: &dSwift)
                XCTAssertEqual(ckernels_winograd_output(m, 0, Int32(cout), Int32(cout), Int32(h), Int32(w), Int32(t0), Int32(rows),
                                                        Int32(tilesW), bias, &dC), 0)
                XCTAssertEqual(dC, dSwift, "output transform \(h)x\(w), band \(t0)+\(rows)")
            }
        }
    }
}
