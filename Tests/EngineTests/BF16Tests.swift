@testable import Engine
import XCTest

/// bf16 operands with fp32 accumulation (`Precision.bf16`): the rounding against its scalar reference, the GEMM path
/// (native where the CPU has BF16, else emulated) against naive products of rounded operands, and whole renders.
final class BF16Tests: XCTestCase {
    func testRoundingMatchesTheReference() {
        let special: [Float] = [0, -0, 1, -1, 1.00390625 /* tie, even stays */, 1.01171875 /* tie, rounds up */,
                                .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNonzeroMagnitude,
                                .leastNormalMagnitude, .infinity, -.infinity, 3.1415927, -2.7182817, 65504, 1e-30]
        var rng = SplitMix(seed: 3)
        let random = (0..<20_000).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()) & 0xFF7F_FFFF) }  // finite
        for x in special + random {
            let fast = BF16.round(x), ref = BF16.roundReference(x)
            XCTAssertEqual(fast.bitPattern, ref.bitPattern, "\(x) (\(String(x.bitPattern, radix: 16)))")
            XCTAssertEqual(fast.bitPattern & 0xFFFF, 0, "\(x) keeps low bits")
        }
        XCTAssertEqual(BF16.round(1.00390625), 1)            // halfway between 1 and 1 + 2⁻⁷: to even
        XCTAssertEqual(BF16.round(1.01171875), 1.015625)     // halfway, odd below: up
        XCTAssertTrue(BF16.round(.nan).isNaN)
    }

    func testVectorRoundingMatchesScalarIncludingInfAndNaN() {
        var rng = SplitMix(seed: 5)
        var x = (0..<1_003).map { _ in Float(Double(rng.next() % 2_000_001) / 1000 - 1000) }
        x[17] = .infinity; x[400] = .nan; x[1_001] = -.infinity
        var y = [Float](repeating: 0, count: x.count)
        BF16.round(x, &y, count: x.count)
        for i in x.indices {
            if x[i].isNaN { XCTAssertTrue(y[i].isNaN); continue }
            XCTAssertEqual(y[i].bitPattern, BF16.round(x[i]).bitPattern, "index \(i)")
        }
    }

    func testGEMMUsesRoundedOperandsWithFP32Sums() {
        var rng = SplitMix(seed: 9)
        func randoms(_ n: Int) -> [Float] { (0..<n).map { _ in Float(Double(rng.next() % 2001) / 1000 - 1) * 1.2345 } }
        for (transA, transB) in [(false, false), (true, false), (false, true), (true, true)] {
            let m = 7, n = 9, k = 13, lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 2
            let a = randoms((transA ? k : m) * lda), b = randoms((transB ? n : k) * ldb)
            let ar = a.map(BF16.round), br = b.map(BF16.round)
            var c = [Float](repeating: 0, count: m * n), expected = c
            BF16.with(.bf16) {
                GEMM.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: &c, ldc: n)
            }
            GEMM.naive(transA: transA, transB: transB, m: m, n: n, k: k, a: ar, lda: lda, b: br, ldb: ldb, c: &expected, ldc: n)
            for i in c.indices { XCTAssertEqual(c[i], expected[i], accuracy: 1e-5, "trans \(transA) \(transB) index \(i)") }
            var plain = [Float](repeating: 0, count: m * n)
            GEMM.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: &plain, ldc: n)
            XCTAssertNotEqual(plain, c, "outside `with` the product is fp32")
        }
    }

    func testDepthwiseConvStaysFP32() {
        // Memory-bound: bf16 operands would cost accuracy and gain nothing (`Precision`), so both modes agree.
        var rng = SplitMix(seed: 11)
        let x = Tensor(shape: [1, 3, 6, 5], data: (0..<90).map { _ in Float(Double(rng.next() % 2001) / 1000 - 1) * 1.377 })
        let w = Tensor(shape: [3, 1, 3, 3], data: (0..<27).map { _ in Float(Double(rng.next() % 2001) / 1000 - 1) * 0.731 })
        let conv = Conv2d(weight: w, bias: [0.1, -0.2, 0.3], padding: 1, groups: 3)
        XCTAssertEqual(BF16.with(.bf16) { conv(x) }.data, conv(x).data)
        let expected = conv.naive(x)
        for i in expected.data.indices { XCTAssertEqual(conv(x).data[i], expected.data[i], accuracy: 1e-5) }
    }

    func testBF16RenderIsDeterministicCloseToFP32AndRecorded() throws {
        let m = try TextToImage(folder: Fixtures.path("models/md8-tiny"))
        let req = RenderRequest(prompt: "a red circle", seed: 4, steps: 1)
        let fp32 = try m.render(req)
        m.precision = .bf16
        defer { m.precision = .fp32 }
        let a = try m.render(req), b = try m.render(req)
        XCTAssertEqual(a.png, b.png)
        XCTAssertEqual(Dictionary(PNGCodec.textChunks(a.png), uniquingKeysWith: { x, _ in x })["precision"], "bf16")
        XCTAssertNil(Dictionary(PNGCodec.textChunks(fp32.png), uniquingKeysWith: { x, _ in x })["precision"])
        let diffs = zip(a.rgb, fp32.rgb).map { abs(Int($0) - Int($1)) }
        let mse = Double(diffs.map { $0 * $0 }.reduce(0, +)) / Double(diffs.count)
        let psnr = mse == 0 ? .infinity : 10 * log10(255 * 255 / mse)
        print("[bf16] md8-tiny render vs fp32: PSNR \(String(format: "%.1f", psnr)) dB, max level diff \(diffs.max()!)")
        XCTAssertGreaterThan(psnr, 30)
        XCTAssertEqual(try m.render(RenderRequest(prompt: "a red circle", seed: 4, steps: 1)).png, a.png)
    }

    /// A bf16 render runs Winograd's products in bf16 unless `winogradBF16` is off, when they are fp32 — the bits of
    /// the layer outside bf16 — and the PNG says so (`winograd: fp32`), so `mdd render --from` can render it again.
    func testWinogradProductsFollowTheSwitchAndTheRenderRecordsIt() throws {
        var rng = SplitMix(seed: 12)
        func randoms(_ n: Int) -> [Float] { (0..<n).map { _ in Float(Double(rng.next() % 2001) / 1000 - 1) } }
        // 72 channels at 72×72: neither the direct kernel (≤ 64 channels at ≤ 64×64) nor im2col.
        let (c, side) = (72, 72)
        let conv = Conv2d(weight: Tensor(shape: [c, c, 3, 3], data: randoms(c * c * 9).map { $0 * 0.1 }), bias: randoms(c),
                          padding: 1, useWinograd: true)
        XCTAssertNotNil(conv.winograd)
        let x = Tensor(shape: [1, c, side, side], data: randoms(c * side * side))
        let saved = PrecisionSetting.winogradBF16
        defer { PrecisionSetting.winogradBF16 = saved }
        PrecisionSetting.winogradBF16 = true
        let bf16 = BF16.with(.bf16) { conv(x) }
        PrecisionSetting.winogradBF16 = false
        let fp32Products = BF16.with(.bf16) { conv(x) }
        XCTAssertEqual(fp32Products.data, conv(x).data, "fp32 Winograd products in a bf16 render: the fp32 layer's bits")
        XCTAssertNotEqual(bf16.data, fp32Products.data, "bf16 Winograd products round their operands")

        let m = try TextToImage(folder: Fixtures.path("models/md8-tiny"))
        m.precision = .bf16
        let req = RenderRequest(prompt: "a red circle", seed: 4, steps: 1)
        let chunks = { (png: [UInt8]) in Dictionary(PNGCodec.textChunks(png), uniquingKeysWith: { a, _ in a }) }
        XCTAssertEqual(chunks(try m.render(req).png)["winograd"], "fp32")
        PrecisionSetting.winogradBF16 = true
        XCTAssertNil(chunks(try m.render(req).png)["winograd"], "bf16 Winograd is the default and goes unsaid")
    }
}
