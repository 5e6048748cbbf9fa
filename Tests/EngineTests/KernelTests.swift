import CKernels
import XCTest
@testable import Engine
import CSHA256

/// Every optimised kernel against its naive reference on odd shapes.
final class KernelTests: XCTestCase {
    var rng = SplitMix(seed: 7)

    func random(_ shape: [Int]) -> Tensor {
        Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in rng.nextFloat() * 2 - 1 })
    }

    func testBLASKernelIsChosenAndCorrect() throws {
        let blas = try BLAS.get()
        print("[blas] OpenBLAS core \(blas.coreName) (choice: \(blas.coreSource)), \(blas.threads) threads, \(blas.libraryPath)")
        if CPUFeatures.current().flags.contains("avx2") {
            XCTAssertFalse(["Prescott", "Core2", "Nehalem", "Atom", "unknown"].contains(blas.coreName),
                           "an AVX2 CPU must not run OpenBLAS's \(blas.coreName) kernel")
        }
        // Shapes that exercise the chosen kernel's edge handling.
        for (m, n, k) in [(1, 1, 1), (7, 13, 5), (33, 17, 65), (128, 96, 257)] {
            for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
                let a = random([m * k]), b = random([k * n])
                var c1 = random([m * n]), c2 = c1
                let lda = ta ? m : k, ldb = tb ? k : n
                a.data.withUnsafeBufferPointer { ap in b.data.withUnsafeBufferPointer { bp in
                    c1.data.withUnsafeMutableBufferPointer { GEMM.sgemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 0.5, a: ap.baseAddress!, lda: lda, b: bp.baseAddress!, ldb: ldb, beta: 0.25, c: $0.baseAddress!, ldc: n) }
                    c2.data.withUnsafeMutableBufferPointer { GEMM.naive(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 0.5, a: ap.baseAddress!, lda: lda, b: bp.baseAddress!, ldb: ldb, beta: 0.25, c: $0.baseAddress!, ldc: n) }
                } }
                XCTAssertLessThan(c1.maxAbsDiff(c2), 1e-4, "gemm \(m)x\(n)x\(k) tA=\(ta) tB=\(tb)")
            }
        }
    }

    func testCPUFlagsChooseASafeKernel() {
        let avx2 = CPUFeatures.parse(cpuinfo: "vendor_id\t: AuthenticAMD\nflags\t\t: sse avx avx2 fma\n")
        XCTAssertEqual(avx2.preferredOpenBLASCore, "ZEN")
        let intel = CPUFeatures.parse(cpuinfo: "vendor_id : GenuineIntel\nflags : avx2 fma avx512f avx512bw avx512vl avx512dq avx512cd avx512_bf16\n")
        XCTAssertEqual(intel.preferredOpenBLASCore, "COOPERLAKE")
        let skx = CPUFeatures.parse(cpuinfo: "vendor_id : GenuineIntel\nflags : avx2 fma avx512f avx512bw avx512vl avx512dq avx512cd\n")
        XCTAssertEqual(skx.preferredOpenBLASCore, "SKYLAKEX")
        XCTAssertNil(CPUFeatures.parse(cpuinfo: "flags : sse2 sse3\n").preferredOpenBLASCore)
    }

    func testConvolutionsMatchNaive() {
        // (cin, cout, k, stride, pad, groups, h, w)
        let cases: [[Int]] = [[3, 5, 3, 1, 1, 1, 7, 9], [4, 6, 3, 2, 1, 1, 9, 8], [5, 7, 1, 1, 0, 1, 5, 3], [6, 6, 3, 1, 1, 6, 7, 5],
                              [6, 6, 3, 2, 1, 6, 9, 7], [4, 6, 3, 1, 1, 2, 6, 6], [3, 2, 3, 1, 0, 1, 6, 5], [8, 8, 5, 1, 2, 8, 6, 7]]
        for cs in cases {
            let (cin, cout, k, s, p, g, h, w) = (cs[0], cs[1], cs[2], cs[3], cs[4], cs[5], cs[6], cs[7])
            let conv = Conv2d(weight: random([cout, cin / g, k, k]), bias: random([cout]).data, stride: s, padding: p, groups: g)
            let x = random([2, cin, h, w])
            let diff = conv(x).maxAbsDiff(conv.naive(x))
            XCTAssertLessThan(diff, 1e-5, "conv cin=\(cin) cout=\(cout) k=\(k) s=\(s) p=\(p) g=\(g)")
        }
    }

    /// Runs the Winograd plan itself: `Conv2d` dispatches small-channel layers to the direct kernel first, so calling
    /// the layer would test that kernel twice and never Winograd (its "winograd" and "im2col" differences were equal).
    func testWinogradMatchesNaiveAndDirect() throws {
        // (cin, cout, h, w): odd sizes exercise partial tiles at the right and bottom edges.
        for (cin, cout, h, w) in [(16, 24, 7, 9), (32, 16, 1, 1), (16, 16, 8, 8), (24, 40, 13, 2), (16, 17, 33, 31), (64, 32, 21, 70)] {
            let weight = random([cout, cin, 3, 3]), bias = random([cout]).data
            let layer = Conv2d(weight: weight, bias: bias, stride: 1, padding: 1, useWinograd: true)
            let plan = try XCTUnwrap(layer.winograd)
            XCTAssertNil(Conv2d(weight: weight, bias: bias, stride: 1, padding: 1, useWinograd: false).winograd)
            let x = random([2, cin, h, w])
            var y = [Float](repeating: 0, count: 2 * cout * h * w)
            x.data.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    for n in 0..<2 {  // the plan convolves one image at a time
                        plan.convolve(xp.baseAddress! + n * cin * h * w, weight: weight.data, cin: cin, h: h, w: w, cout: cout,
                                      bias: bias, yp.baseAddress! + n * cout * h * w)
                    }
                }
            }
            let reference = layer.naive(x), scale = reference.data.map(abs).max()!
            let diff = Tensor(shape: [2, cout, h, w], data: y).maxAbsDiff(reference), layerDiff = layer(x).maxAbsDiff(reference)
            print("winograd F(4x4,3x3) \(cin)→\(cout) \(h)x\(w): max |diff| vs naive \(diff) (the layer's own path: \(layerDiff)), max |y| \(scale)")
            // F(4,3)'s transforms (coefficients up to 8 and 1/24) cost ~10x the rounding error of a direct sum.
            XCTAssertLessThan(diff / scale, 2e-5, "winograd \(cin)→\(cout) \(h)x\(w) vs naive")
            XCTAssertLessThan(layerDiff / scale, 2e-5, "the layer's chosen path \(cin)→\(cout) \(h)x\(w) vs naive")
        }
    }

    /// Large layers transform their kernel per call instead of keeping U: the same U, so the same bits.
    /// Winograd's groups of tile rows follow the layer's shape alone (a render's bits must not depend on the thread
    /// count): at least 16 tiles, V and M within `groupFloats` unless one row exceeds it, at least four groups.
    func testWinogradGroupsFollowTheShapeOnly() {
        XCTAssertEqual(Winograd.groupRows(cin: 128, cout: 128, tilesW: 128, tilesH: 128), 1, "512×512: one tile row")
        XCTAssertEqual(Winograd.groupRows(cin: 256, cout: 256, tilesW: 64, tilesH: 64), 1, "a row over the limit stays one row")
        XCTAssertEqual(Winograd.groupRows(cin: 64, cout: 64, tilesW: 8, tilesH: 8), 2, "32×32: 16 tiles per group")
        XCTAssertEqual(Winograd.groupRows(cin: 512, cout: 512, tilesW: 8, tilesH: 8), 1, "V and M of two rows > 2^19 floats")
        XCTAssertEqual(Winograd.groupRows(cin: 32, cout: 32, tilesW: 2, tilesH: 8), 2, "four groups at least")
        XCTAssertEqual(Winograd.groupRows(cin: 32, cout: 32, tilesW: 2, tilesH: 2), 1)
    }

    func testWinogradKernelTransformedPerCallMatchesKeptKernel() {
        let (cin, cout, h, w) = (16, 24, 67, 65)
        let weight = random([cout, cin, 3, 3]), bias = random([cout]).data, x = random([1, cin, h, w])
        let kept = WinogradPlan(weight: weight.data, cout: cout, cin: cin, keepU: true)
        let perCall = WinogradPlan(weight: weight.data, cout: cout, cin: cin, keepU: false)
        XCTAssertNil(perCall.u)
        XCTAssertTrue(perCall.pays(h: 64, w: 64))
        XCTAssertFalse(perCall.pays(h: 32, w: 64), "per-call transforms only pay from 64x64 up")
        var a = [Float](repeating: 0, count: cout * h * w), b = a
        x.data.withUnsafeBufferPointer { xp in
            a.withUnsafeMutableBufferPointer { kept.convolve(xp.baseAddress!, weight: weight.data, cin: cin, h: h, w: w, cout: cout, bias: bias, $0.baseAddress!) }
            b.withUnsafeMutableBufferPointer { perCall.convolve(xp.baseAddress!, weight: weight.data, cin: cin, h: h, w: w, cout: cout, bias: bias, $0.baseAddress!) }
        }
        XCTAssertEqual(a, b)
        let reference = Conv2d(weight: weight, bias: bias, stride: 1, padding: 1, useWinograd: false).naive(x)
        XCTAssertLessThan(Tensor(shape: [1, cout, h, w], data: a).maxAbsDiff(reference) / reference.data.map(abs).max()!, 2e-5)
    }

    /// GroupNorm + SiLU fused into a Winograd convolution's input transform gives the bits of the norm written out
    /// and then convolved (the transform runs the same affine on each row), for two images with their own
    /// statistics, a width that is not a multiple of the vector length, and both the kept and the per-call U; and
    /// a layer that does not run Winograd (below 64×64 with per-call U) takes the unfused path.
    func testGroupNormFusedIntoWinogradGivesTheUnfusedBits() throws {
        // > 64 channels: not the direct kernel. 96→80 keeps U; 176→176 makes it per call (Winograd from 64×64 only).
        for (cin, cout, h, w, fuses) in [(96, 80, 67, 70, true), (96, 80, 20, 21, true), (176, 176, 66, 68, true),
                                         (176, 176, 20, 21, false)] {
            let norm = GroupNorm(groups: 8, eps: 1e-5, weight: random([cin]).data, bias: random([cin]).data)
            var x = random([2, cin, h, w])
            for i in 0..<cin * h * w { x.data[i] = x.data[i] * 3 + 1.5 }  // image 0: another mean and scale than image 1
            let conv = Conv2d(weight: random([cout, cin, 3, 3]), bias: random([cout]).data, padding: 1)
            XCTAssertEqual(conv.fusesNorm(h: h, w: w), fuses, "\(cin)→\(cout) at \(h)x\(w)")
            let fused = conv(x, normalizedBy: norm, silu: true), unfused = conv(norm(x, silu: true))
            XCTAssertEqual(fused.shape, unfused.shape)
            XCTAssertEqual(fused.data, unfused.data, "\(cin)→\(cout) at \(h)x\(w)")
        }
    }

    /// The kernels that `Parallel` splits over threads give the same bits on one thread as on two and three, on a
    /// large tensor and on an odd-sized one (slices that do not fall on SIMD or tile boundaries).
    func testParallelKernelsAreBitIdenticalAcrossThreadCounts() throws {
        let blas = try BLAS.get(), saved = blas.threads
        defer { blas.threads = saved }
        // 1,048,576 elements, and 128 channels × 256 Winograd tiles × 16: every kernel is at or above the split threshold.
        XCTAssertLessThanOrEqual(Parallel.minWork, 29 * 33 * 17)
        for shape in [[2, 128, 64, 64], [1, 17, 33, 29]] {
            let c = shape[1]
            let x = random(shape), other = random(shape)
            let norm = GroupNorm(groups: c % 8 == 0 ? 8 : 1, eps: 1e-5, weight: random([c]).data, bias: random([c]).data)
            let conv = Conv2d(weight: random([c, c, 3, 3]), bias: random([c]).data, stride: 1, padding: 1, useWinograd: true)
            let direct = Conv2d(weight: random([c, c, 3, 3]), bias: random([c]).data, stride: 1, padding: 1, useWinograd: false)
            let depthwise = Conv2d(weight: random([c, 1, 3, 3]), bias: random([c]).data, stride: 1, padding: 1, groups: c)
            let pointwise = Conv2d(weight: random([c, c, 1, 1]), bias: random([c]).data)
            let bias = random([shape[0], c])
            func run() -> [Tensor] {
                var sum = x
                Elementwise.add(&sum, other)
                var act = x
                Activation.silu.apply(&act)
                var biased = x
                Elementwise.addChannelBias(&biased, bias)
                return [norm(x, silu: true), sum, act, Resample.nearest2x(x), conv(x), biased, depthwise(x), direct(x),
                        pointwise(x)]
            }
            blas.threads = 1
            let one = run()
            for threads in [2, 3] {
                blas.threads = threads
                for (i, (a, b)) in zip(one, run()).enumerated() {
                    XCTAssertEqual(a.data, b.data, "kernel \(i) on \(shape) differs between 1 and \(threads) threads")
                }
            }
            // And each against its reference.
            XCTAssertEqual(one[1].data, zip(x.data, other.data).map { $0 + $1 })
            XCTAssertLessThan(one[2].maxAbsDiff(Tensor(shape: x.shape, data: x.data.map { Activation.silu.scalar($0) })), 1e-6)
            XCTAssertLessThan(one[6].maxAbsDiff(depthwise.naive(x)), 1e-5)
        }
    }

    func testAttentionMatchesNaive() {
        let cases: [(Int, Int, Int, Int, Bool)] = [(5, 5, 2, 3, true), (17, 9, 3, 4, false), (1, 77, 1, 8, false), (33, 33, 4, 5, true)]
        for (lq, lk, heads, d, causal) in cases {
            let q = random([2, lq, heads * d]), k = random([2, lk, heads * d]), v = random([2, lk, heads * d])
            let fast = AttentionKernel.forward(q: q, k: k, v: v, heads: heads, causal: causal)
            let slow = AttentionKernel.naive(q: q, k: k, v: v, heads: heads, causal: causal)
            XCTAssertLessThan(fast.maxAbsDiff(slow), 1e-5, "attention lq=\(lq) lk=\(lk) h=\(heads) causal=\(causal)")
        }
    }

    /// Attention in tiles of query rows (`AttentionKernel.tileRows`), several per head here, ragged last tile:
    /// against the naive reference, and the same bits on 1, 2 and 3 threads.
    func testTiledAttentionMatchesNaiveOnAnyThreadCount() throws {
        let (lq, lk, heads, d) = (150, 4100, 2, 8)
        XCTAssertLessThan(AttentionKernel.tileRows(lq: lq, lk: lk), lq / 2, "three tiles per head")
        let q = random([1, lq, heads * d]), k = random([1, lk, heads * d]), v = random([1, lk, heads * d])
        let blas = try BLAS.get(), saved = blas.threads
        defer { blas.threads = saved }
        var outputs: [Tensor] = []
        for threads in [1, 2, 3] {
            blas.threads = threads
            outputs.append(AttentionKernel.forward(q: q, k: k, v: v, heads: heads, causal: true))
        }
        XCTAssertLessThan(outputs[0].maxAbsDiff(AttentionKernel.naive(q: q, k: k, v: v, heads: heads, causal: true)), 1e-5)
        XCTAssertEqual(outputs[1].data, outputs[0].data, "2 vs 1 threads")
        XCTAssertEqual(outputs[2].data, outputs[0].data, "3 vs 1 threads")
    }

    /// The vector softmax kernel (`ckernels_softmax_row`) against the Swift row softmax and the definition, with
    /// ragged lengths and masked keys; its bf16 output is its fp32 output rounded (the same bits).
    func testSoftmaxKernelMatchesTheSwiftRowAndWritesBF16Directly() throws {
        guard ckernels_simd_level() >= 1 else {
            print("SKIP (no AVX2): \(name) — the Swift row softmax runs instead")
            throw XCTSkip("no AVX2")
        }
        for (count, valid) in [(4100, 4100), (77, 77), (33, 20), (16, 1), (5, 5)] {
            let x = random([count]).data.map { $0 * 8 }
            var fast = x, swift = x, half = [UInt16](repeating: 0xFFFF, count: count), forHalf = x
            XCTAssertEqual(ckernels_softmax_row(&fast, count, valid, nil), 0)
            AttentionKernel.softmaxRow(&swift, count: count, valid: valid)
            XCTAssertEqual(ckernels_softmax_row(&forHalf, count, valid, &half), 0)
            let m = x[..<valid].max()!, total = x[..<valid].map { exp(Double($0 - m)) }.reduce(0, +)
            for j in 0..<count {
                let expected = j < valid ? exp(Double(x[j] - m)) / total : 0
                XCTAssertEqual(Double(fast[j]), expected, accuracy: 2e-6 * max(expected, 1e-3), "\(count)/\(valid) [\(j)]")
                XCTAssertEqual(fast[j], swift[j], accuracy: 1e-6, "vs the Swift row, \(count)/\(valid) [\(j)]")
            }
            var rounded = [UInt16](repeating: 0, count: count)
            OneDNN.toBF16(fast, &rounded, count: count)
            XCTAssertEqual(half, rounded, "bf16 output = the fp32 output rounded, \(count)/\(valid)")
        }
    }

    func testGroupNormMatchesDefinition() {
        let x = random([2, 6, 3, 5])
        let gn = GroupNorm(groups: 3, eps: 1e-5, weight: random([6]).data, bias: random([6]).data)
        let y = gn(x, silu: true)
        for b in 0..<2 { for g in 0..<3 {
            let idx = (0..<30).map { b * 90 + g * 30 + $0 }
            let vals = idx.map { Double(x.data[$0]) }
            let mean = vals.reduce(0, +) / 30, variance = vals.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 30
            for (j, i) in idx.enumerated() {
                let c = g * 2 + j / 15
                let n = (vals[j] - mean) / (variance + 1e-5).squareRoot() * Double(gn.weight[c]) + Double(gn.bias[c])
                XCTAssertEqual(Double(y.data[i]), n / (1 + exp(-n)), accuracy: 1e-5)
            }
        } }
    }

    func testUpsampleAndLayoutRoundTrip() {
        let x = random([2, 3, 4, 5])
        XCTAssertEqual(Resample.fromTokens(Resample.toTokens(x), h: 4, w: 5).data, x.data)
        let up = Resample.nearest2x(x)
        XCTAssertEqual(up.shape, [2, 3, 8, 10])
        let plane = 1 * 3 + 2
        let upIndex: Int = (plane * 8 + 7) * 10 + 9, srcIndex: Int = (plane * 4 + 3) * 5 + 4
        XCTAssertEqual(up.data[upIndex], x.data[srcIndex])
    }

    /// A mapped file hashed in chunks (released as it goes) gives the one-shot digest, also across odd chunk sizes.
    func testMappedFileHashInChunksMatchesOneShot() throws {
        let path = NSTemporaryDirectory() + "mdd-sha-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let bytes = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let file = try MappedFile(path: path)
        let expected = SHA256.hex(bytes)
        for chunk in [100, 4096, 64 << 20] { XCTAssertEqual(file.sha256Hex(chunk: chunk), expected, "chunk \(chunk)") }
    }

    func testSHA256KnownVectors() {
        XCTAssertEqual(SHA256.hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex([UInt8]()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        XCTAssertEqual(SHA256.hex(million), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// The block compression in use (SHA extensions on CPUs that have them) against the portable C twin, on random
    /// data of 1–40 blocks from a chained state; and the portable twin alone on the "abc" vector.
    func testSHA256BlockCompressionMatchesPortable() {
        print("[sha256] SHA extensions in use: \(csha256_uses_sha_ni() == 1)")
        var rng = SplitMix(seed: 7)
        let initial: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
        var fast = initial, portable = initial
        for blocks in 1...40 {
            let data = (0..<(64 * blocks)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            csha256_blocks(&fast, data, blocks)
            csha256_blocks_portable(&portable, data, blocks)
            XCTAssertEqual(fast, portable, "after \(blocks) blocks")
        }
        // "abc" padded to one block by hand.
        var block = [UInt8](repeating: 0, count: 64)
        block[0] = 0x61; block[1] = 0x62; block[2] = 0x63; block[3] = 0x80; block[63] = 24
        var state = initial
        csha256_blocks_portable(&state, block, 1)
        XCTAssertEqual(state, [0xba7816bf, 0x8f01cfea, 0x414140de, 0x5dae2223, 0xb00361a3, 0x96177a9c, 0xb410ff61, 0xf20015ad])
    }
}

/// Deterministic test randomness.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func nextFloat() -> Float { Float(next() >> 40) / Float(1 << 24) }
}

final class VectorMathTests: XCTestCase {
    func testExpSiluGeluAgainstLibm() {
        var maxRel: Float = 0, maxGelu: Float = 0, maxSilu: Float = 0
        var x: Float = -30
        while x < 30 {
            let v = VectorMath.V((0..<8).map { x + Float($0) * 0.0013 })
            let e = VectorMath.exp(v), g = VectorMath.gelu(v), s = VectorMath.silu(v)
            for j in 0..<8 {
                let ref = expf(v[j])
                maxRel = max(maxRel, abs(e[j] - ref) / ref)
                maxGelu = max(maxGelu, abs(g[j] - Activation.gelu.scalar(v[j])))
                maxSilu = max(maxSilu, abs(s[j] - Activation.silu.scalar(v[j])) / max(1, abs(v[j])))
            }
            x += 0.0107
        }
        print("[vector-math] exp max rel err \(maxRel), gelu max abs err \(maxGelu), silu max err \(maxSilu)")
        XCTAssertLessThan(maxRel, 5e-7)
        XCTAssertLessThan(maxGelu, 5e-7)
        XCTAssertLessThan(maxSilu, 5e-7)
    }

    func testMapHandlesTails() {
        for n in [0, 1, 7, 8, 9, 17] {
            var a = (0..<n).map { Float($0) - 4 }
            a.withUnsafeMutableBufferPointer { p in if let b = p.baseAddress { VectorMath.map(b, count: n) { $0 * 2 } } }
            XCTAssertEqual(a, (0..<n).map { (Float($0) - 4) * 2 })
        }
    }
}

/// The text-embedding cache: hits return exactly what a miss computes; least recently used entries go first.
final class EmbeddingCacheTests: XCTestCase {
    func testHitsAreExactAndLRUEvicts() throws {
        let cache = EmbeddingCache(capacityBytes: 2 * 4 * MemoryLayout<Float>.size)  // room for two [1, 2, 2] entries
        var computed = 0
        func ctx(_ ids: [Int32]) -> Tensor {
            cache.context(for: ids) { computed += 1; return Tensor(shape: [1, 2, 2], data: ids.map(Float.init) + [0, 0, 0]) }
        }
        let a = ctx([1]), b = ctx([2])
        XCTAssertEqual(ctx([1]).data, a.data)
        XCTAssertEqual(computed, 2)
        _ = ctx([3])  // evicts [2], the least recently used
        XCTAssertEqual(cache.stats, EmbeddingCache.Stats(hits: 1, misses: 3, entries: 2, bytes: 32))
        _ = ctx([1])
        XCTAssertEqual(computed, 3, "[1] was used after [2], so it stayed")
        _ = ctx([2])
        XCTAssertEqual(computed, 4, "[2] was evicted")
        XCTAssertEqual(b.data, ctx([2]).data)
    }

    func testDisabledCacheAlwaysComputes() {
        let cache = EmbeddingCache(capacityBytes: 0)
        var computed = 0
        for _ in 0..<3 { _ = cache.context(for: [7]) { computed += 1; return Tensor(shape: [1, 1, 1], data: [1]) } }
        XCTAssertEqual(computed, 3)
    }

    func testRenderWithCacheHitIsBitIdentical() throws {
        let m = try TextToImage(folder: Fixtures.path("models/sd-tiny"))
        let req = RenderRequest(prompt: "a cached prompt", negativePrompt: "blurry", seed: 5, steps: 2, guidance: 3)
        let miss = try m.render(req)
        let hit = try m.render(req)
        XCTAssertGreaterThanOrEqual(m.embeddings.stats.hits, 2)
        XCTAssertEqual(miss.png, hit.png)
    }
}
