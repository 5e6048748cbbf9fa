import CKernels
@testable import Engine
import XCTest

/// The oneDNN backend (`OneDNN`, `GEMM`'s native bf16 path): conversions against `BF16.round`, products against
/// naive references, native bf16 against the emulation, and thread-count independence. Tests that need BF16
/// hardware print `SKIP (no avx512_bf16/amx_bf16)` and are skipped elsewhere.
final class OneDNNTests: XCTestCase {
    private func requireNativeBF16() throws {
        guard OneDNN.nativeBF16 else {
            print("SKIP (no avx512_bf16/amx_bf16): \(name) — oneDNN ISA \(OneDNN.isa)")
            throw XCTSkip("no native bf16 (oneDNN ISA \(OneDNN.isa))")
        }
    }

    private func randoms(_ n: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        var rng = SplitMix(seed: seed)
        return (0..<n).map { _ in Float(Double(rng.next() % 2_000_001) / 1_000_000 - 1) * scale }
    }

    func testLoadsAndReportsItsISA() {
        XCTAssertNotNil(OneDNN.version, "oneDNN has no CPU engine")
        print("[oneDNN] version \(OneDNN.version ?? "-"), ISA \(OneDNN.isa), native bf16 \(OneDNN.nativeBF16), bf16 matmul: \(OneDNN.bf16Implementation() ?? "none")")
        XCTAssertFalse(OneDNN.isa.isEmpty)
    }

    func testConversionRoundsAsBF16Round() {
        var x = randoms(1_003, seed: 1, scale: 1e4)
        var rng = SplitMix(seed: 2)
        for i in 0..<400 { x[i] = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next())) }  // every exponent, NaNs
        let specials: [Float] = [.infinity, -.infinity, .nan, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
                                 .leastNonzeroMagnitude, 1.00390625, 1.01171875, 0, -0]
        x.replaceSubrange(500..<(500 + specials.count), with: specials)
        var h = [UInt16](repeating: 0, count: x.count), back = [Float](repeating: 0, count: x.count)
        OneDNN.toBF16(x, &h, count: x.count)  // 62 vectors of 16 and a tail of 11
        OneDNN.toF32(h, &back, count: x.count)
        for i in x.indices {
            let expected = BF16.round(x[i])
            if x[i].isNaN { XCTAssertTrue(back[i].isNaN, "index \(i)"); continue }
            XCTAssertEqual(back[i].bitPattern, expected.bitPattern, "index \(i): \(x[i])")
        }
    }

    func testF32MatmulMatchesNaive() throws {
        for (transA, transB) in [(false, false), (true, false), (false, true), (true, true)] {
            let m = 37, n = 19, k = 53, lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 5, ldc = n + 2
            let a = randoms((transA ? k : m) * lda, seed: 3), b = randoms((transB ? n : k) * ldb, seed: 4)
            var c = randoms(m * ldc, seed: 5), expected = c
            try OneDNN.matmulF32(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5, a: a, lda: lda, b: b,
                                 ldb: ldb, beta: 1, c: &c, ldc: ldc)
            GEMM.naive(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5, a: a, lda: lda, b: b, ldb: ldb,
                       beta: 1, c: &expected, ldc: ldc)
            let worst = zip(c, expected).map { abs($0 - $1) }.max()!
            print("[oneDNN] f32 matmul trans \(transA) \(transB) vs naive: max diff \(worst)")
            XCTAssertLessThan(worst, 1e-5)
        }
    }

    func testBF16MatmulMatchesNaiveOfRoundedOperands() throws {
        try requireNativeBF16()
        for (transA, transB) in [(false, false), (true, false), (false, true), (true, true)] {
            let m = 41, n = 23, k = 67, lda = (transA ? m : k) + 1, ldb = (transB ? k : n) + 7, ldc = n + 3
            let a = randoms((transA ? k : m) * lda, seed: 6), b = randoms((transB ? n : k) * ldb, seed: 7)
            var ha = [UInt16](repeating: 0, count: a.count), hb = [UInt16](repeating: 0, count: b.count)
            OneDNN.toBF16(a, &ha, count: a.count)
            OneDNN.toBF16(b, &hb, count: b.count)
            var c = randoms(m * ldc, seed: 8), expected = c
            try OneDNN.matmulBF16(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 2, a: ha, lda: lda, b: hb,
                                  ldb: ldb, beta: 0.25, c: &c, ldc: ldc)
            GEMM.naive(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 2, a: a.map(BF16.round), lda: lda,
                       b: b.map(BF16.round), ldb: ldb, beta: 0.25, c: &expected, ldc: ldc)
            let worst = zip(c, expected).map { abs($0 - $1) }.max()!
            print("[oneDNN] bf16 matmul trans \(transA) \(transB) vs naive of rounded operands: max diff \(worst)")
            XCTAssertLessThan(worst, 2e-5)  // fp32 sums of 67 exact bf16 products, another order
        }
    }

    /// The native path against the emulation on a product large enough to be split: same operands, fp32 sums in
    /// another order, so the difference is bounded by fp32 rounding of the sum (k · 2⁻²⁴ · Σ|a·b| at most).
    func testNativeGEMMMatchesTheEmulation() throws {
        try requireNativeBF16()
        let m = 300, n = 260, k = 500
        let a = randoms(m * k, seed: 9), b = randoms(n * k, seed: 10)
        func product(native: Bool) -> [Float] {
            let saved = GEMM.nativeBF16
            GEMM.nativeBF16 = native
            defer { GEMM.nativeBF16 = saved }
            var c = [Float](repeating: 0, count: m * n)
            BF16.with(.bf16) { GEMM.sgemm(transB: true, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: k, c: &c, ldc: n) }
            return c
        }
        let native = product(native: true), emulated = product(native: false)
        let worst = zip(native, emulated).map { abs($0 - $1) }.max()!
        print("[oneDNN] native bf16 GEMM \(m)x\(k)x\(n) vs emulation: max diff \(worst)")
        XCTAssertLessThan(worst, 1e-4)
    }

    func testNativeGEMMIsBitIdenticalAcrossThreadCounts() throws {
        try requireNativeBF16()
        let blas = try BLAS.get()
        let saved = blas.threads
        defer { blas.threads = saved }
        let shapes = [(m: 4096, n: 64, k: 64), (m: 77, n: 768, k: 768), (m: 320, n: 1024, k: 96)]
        for s in shapes {
            let a = randoms(s.m * s.k, seed: 11), b = randoms(s.k * s.n, seed: 12)
            var results: [[Float]] = []
            for threads in [1, 2, 3] {
                blas.threads = threads
                var c = [Float](repeating: 0, count: s.m * s.n)
                BF16.with(.bf16) { GEMM.sgemm(m: s.m, n: s.n, k: s.k, a: a, lda: s.k, b: b, ldb: s.n, c: &c, ldc: s.n) }
                results.append(c)
            }
            XCTAssertEqual(results[0], results[1], "\(s) on 1 vs 2 threads")
            XCTAssertEqual(results[0], results[2], "\(s) on 1 vs 3 threads")
        }
    }

    func testLinearKeepsOneBF16CopyOfItsWeights() throws {
        try requireNativeBF16()
        let layer = Linear(weight: Tensor(shape: [48, 80], data: randoms(48 * 80, seed: 13)), bias: randoms(48, seed: 14))
        let x = Tensor(shape: [5, 80], data: randoms(400, seed: 15))
        XCTAssertEqual(layer.weightBF16.bytes, 0)
        let first = BF16.with(.bf16) { layer(x) }
        XCTAssertEqual(layer.weightBF16.bytes, 2 * 48 * 80)
        XCTAssertEqual(BF16.with(.bf16) { layer(x) }.data, first.data)
        var expected = [Float](repeating: 0, count: 5 * 48)
        for r in 0..<5 { for j in 0..<48 { expected[r * 48 + j] = layer.bias![j] } }
        GEMM.naive(transB: true, m: 5, n: 48, k: 80, a: x.data.map(BF16.round), lda: 80,
                   b: layer.weight.data.map(BF16.round), ldb: 80, beta: 1, c: &expected, ldc: 48)
        let worst = zip(first.data, expected).map { abs($0 - $1) }.max()!
        XCTAssertLessThan(worst, 2e-5)
    }

    /// Attention with native bf16 products (k and v rounded once, q and the weights per tile) against the emulated
    /// bf16 products — the same rounded operands, only the order of fp32 sums differs — over several tiles per head,
    /// causal and not, and the same bits on 1, 2 and 3 threads.
    func testNativeBF16AttentionMatchesTheEmulationOnAnyThreadCount() throws {
        try requireNativeBF16()
        let (lq, lk, heads, d) = (150, 4100, 2, 40)
        let q = Tensor(shape: [1, lq, heads * d], data: randoms(lq * heads * d, seed: 41))
        let k = Tensor(shape: [1, lk, heads * d], data: randoms(lk * heads * d, seed: 42))
        let v = Tensor(shape: [1, lk, heads * d], data: randoms(lk * heads * d, seed: 43))
        func attend(native: Bool, causal: Bool, threads: Int = 2) throws -> Tensor {
            let blas = try BLAS.get(), savedThreads = blas.threads, savedNative = GEMM.nativeBF16
            blas.threads = threads
            GEMM.nativeBF16 = native
            defer { blas.threads = savedThreads; GEMM.nativeBF16 = savedNative }
            return BF16.with(.bf16) { AttentionKernel.forward(q: q, k: k, v: v, heads: heads, causal: causal) }
        }
        for causal in [false, true] {
            let native = try attend(native: true, causal: causal), emulated = try attend(native: false, causal: causal)
            let fp32 = AttentionKernel.forward(q: q, k: k, v: v, heads: heads, causal: causal)
            print("[oneDNN] bf16 attention \(lq)x\(lk), \(heads) heads, causal \(causal): native vs emulated \(native.maxAbsDiff(emulated)), vs fp32 \(native.maxAbsDiff(fp32))")
            XCTAssertLessThan(native.maxAbsDiff(emulated), 1e-4)
            XCTAssertLessThan(native.maxAbsDiff(fp32), 0.05, "bf16 operands, not garbage")
            XCTAssertEqual(try attend(native: true, causal: causal, threads: 1).data, native.data, "1 vs 2 threads")
            XCTAssertEqual(try attend(native: true, causal: causal, threads: 3).data, native.data, "3 vs 2 threads")
        }
    }

    func testNativeRenderMatchesTheEmulatedRender() throws {
        try requireNativeBF16()
        let m = try TextToImage(folder: Fixtures.path("models/md8-tiny"))
        m.precision = .bf16
        let req = RenderRequest(prompt: "a red circle", seed: 4, steps: 1)
        let native = try m.render(req)
        let saved = GEMM.nativeBF16
        GEMM.nativeBF16 = false
        defer { GEMM.nativeBF16 = saved }
        let emulated = try m.render(req)
        let diffs = zip(native.rgb, emulated.rgb).map { abs(Int($0) - Int($1)) }
        print("[oneDNN] md8-tiny bf16 native vs emulated render: max level diff \(diffs.max()!), \(diffs.filter { $0 > 0 }.count) of \(diffs.count) differ")
        XCTAssertLessThanOrEqual(diffs.max()!, 2)
    }

    /// Winograd with native bf16 products (V rounded by the transform itself, U kept or made per call) against the
    /// emulated bf16 products: the same rounded operands, so only the order of the fp32 sums differs; and the same
    /// bits on 1, 2 and 3 threads.
    func testNativeBF16WinogradMatchesTheEmulationOnAnyThreadCount() throws {
        try requireNativeBF16()
        let (cin, cout, h, w) = (20, 24, 67, 70)
        let weight = randoms(cout * cin * 9, seed: 21, scale: 0.2), bias = randoms(cout, seed: 22)
        let x = randoms(cin * h * w, seed: 23)
        func convolve(native: Bool, keepU: Bool, threads: Int = 2) throws -> [Float] {
            let blas = try BLAS.get(), savedThreads = blas.threads, savedNative = GEMM.nativeBF16
            blas.threads = threads
            GEMM.nativeBF16 = native
            defer { blas.threads = savedThreads; GEMM.nativeBF16 = savedNative }
            let plan = WinogradPlan(weight: weight, cout: cout, cin: cin, keepU: keepU)
            var out = [Float](repeating: .nan, count: cout * h * w)
            BF16.with(.bf16) { plan.convolve(x, weight: weight, cin: cin, h: h, w: w, cout: cout, bias: bias, &out) }
            return out
        }
        let reference = Conv2d(weight: Tensor(shape: [cout, cin, 3, 3], data: weight), bias: bias, padding: 1, useWinograd: false)
            .naive(Tensor(shape: [1, cin, h, w], data: x)).data
        for keepU in [true, false] {
            let native = try convolve(native: true, keepU: keepU), emulated = try convolve(native: false, keepU: keepU)
            let worst = zip(native, emulated).map { abs($0 - $1) }.max()!
            let scale = reference.map { abs($0) }.max()!
            let fromFP32 = zip(native, reference).map { abs($0 - $1) }.max()!
            print("[oneDNN] bf16 Winograd \(cin)→\(cout) at \(h)x\(w), U \(keepU ? "kept" : "per call"): native vs emulated max diff \(worst); vs fp32 naive \(fromFP32) (|y| ≤ \(scale))")
            XCTAssertLessThan(worst, 1e-4 * scale)
            // F(4×4, 3×3) amplifies the operands' rounding ~10× over a direct sum (0.054 · max|y| measured here).
            XCTAssertLessThan(fromFP32, 0.1 * scale, "bf16 operands, not garbage")
            XCTAssertEqual(try convolve(native: true, keepU: keepU, threads: 1), native, "1 vs 2 threads")
            XCTAssertEqual(try convolve(native: true, keepU: keepU, threads: 3), native, "3 vs 2 threads")
        }
    }

    /// im2col convolutions in native bf16 write their columns in bf16 directly (`ckernels_im2col_bf16`): the same
    /// columns as the fp32 im2col rounded afterwards, so the conv matches the emulation up to the order of the sums,
    /// with stride 1 and 2 and ragged borders, and gives the same bits on 1, 2 and 3 threads.
    func testNativeBF16Im2ColConvMatchesTheEmulation() throws {
        try requireNativeBF16()
        let (cin, cout, h, w) = (72, 80, 21, 23)  // > 64 channels: not the direct kernel
        for stride in [1, 2] {
            let conv = Conv2d(weight: Tensor(shape: [cout, cin, 3, 3], data: randoms(cout * cin * 9, seed: 31, scale: 0.2)),
                              bias: randoms(cout, seed: 32), stride: stride, padding: 1, useWinograd: false)
            let x = Tensor(shape: [1, cin, h, w], data: randoms(cin * h * w, seed: 33))
            func run(native: Bool, threads: Int = 2) throws -> [Float] {
                let blas = try BLAS.get(), savedThreads = blas.threads, savedNative = GEMM.nativeBF16
                blas.threads = threads
                GEMM.nativeBF16 = native
                defer { blas.threads = savedThreads; GEMM.nativeBF16 = savedNative }
                return BF16.with(.bf16) { conv(x).data }
            }
            let native = try run(native: true), emulated = try run(native: false)
            let worst = zip(native, emulated).map { abs($0 - $1) }.max()!
            print("[oneDNN] bf16 im2col conv \(cin)→\(cout) stride \(stride): native vs emulated max diff \(worst)")
            XCTAssertLessThan(worst, 1e-4)
            XCTAssertEqual(try run(native: true, threads: 1), native, "1 vs 2 threads")
            XCTAssertEqual(try run(native: true, threads: 3), native, "3 vs 2 threads")
        }
        // A 1×1 conv over more columns than one band (`Scratch.bandFloats` / cin): banded in native bf16.
        let (c1, hw1) = (96, Scratch.bandFloats / 96 + 1000)
        let pointwise = Conv2d(weight: Tensor(shape: [40, c1, 1, 1], data: randoms(40 * c1, seed: 35, scale: 0.2)),
                               bias: randoms(40, seed: 36))
        let xs = Tensor(shape: [1, c1, 1, hw1], data: randoms(c1 * hw1, seed: 37))
        func pointwiseRun(native: Bool) -> [Float] {
            let saved = GEMM.nativeBF16
            GEMM.nativeBF16 = native
            defer { GEMM.nativeBF16 = saved }
            return BF16.with(.bf16) { pointwise(xs).data }
        }
        let banded = pointwiseRun(native: true), emulatedWhole = pointwiseRun(native: false)
        let worst1x1 = zip(banded, emulatedWhole).map { abs($0 - $1) }.max()!
        print("[oneDNN] bf16 1x1 conv \(c1)→40 over \(hw1) columns (banded): native vs emulated max diff \(worst1x1)")
        XCTAssertLessThan(worst1x1, 1e-4)
        // The C columns against the Swift ones rounded, bit for bit.
        let src = randoms(cin * h * w, seed: 34)
        for (stride, r0, rows) in [(1, 0, 21), (1, 5, 7), (2, 3, 4)] {
            let wo = (w + 2 - 3) / stride + 1, n = 9 * cin * rows * wo
            var fp32 = [Float](repeating: .nan, count: n), rounded = [UInt16](repeating: 0, count: n), c = rounded
            Im2Col.fill(src, channels: 0..<cin, h: h, w: w, k: 3, stride: stride, padding: 1, rowStart: r0, rows: rows, wo: wo, col: &fp32)
            OneDNN.toBF16(fp32, &rounded, count: n)
            ckernels_im2col_bf16(src, 0, Int32(cin), Int32(h), Int32(w), 3, Int32(stride), 1, Int32(r0), Int32(rows), Int32(wo), &c)
            XCTAssertEqual(c, rounded, "stride \(stride), rows \(r0)+\(rows)")
        }
    }

    /// A model loaded for bf16 keeps its text-encoder and UNet matrices in bf16 only: the same bf16 copies an
    /// fp32-loaded engine makes on demand, so the same bytes, and fp32 renders are refused.
    func testBF16OnlyEngineRendersTheSameBytesAndRefusesFP32() throws {
        try requireNativeBF16()
        let folder = Fixtures.path("models/md8-tiny")
        let lazy = try TextToImage(folder: folder)
        lazy.precision = .bf16
        let only = try TextToImage(folder: folder, precision: .bf16)
        XCTAssertFalse(lazy.bf16Weights)
        XCTAssertTrue(only.bf16Weights)
        let req = RenderRequest(prompt: "a blue square", seed: 9, steps: 1)
        XCTAssertEqual(try only.render(req).png, try lazy.render(req).png)
        only.precision = .fp32
        XCTAssertThrowsError(try only.render(req)) { error in
            XCTAssertTrue("\(error)".contains("bf16 weights only"), "\(error)")
        }
    }
}
