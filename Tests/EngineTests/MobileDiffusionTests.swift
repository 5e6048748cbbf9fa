import XCTest
@testable import Engine

/// MobileDiffusion options (training/mdiff) alone and together, against the PyTorch reference.
final class MobileDiffusionTests: XCTestCase {
    static let variants = ["separable", "no-self-attention", "mid-layers", "shared-kv", "swiglu6", "relu-attention", "conv-projection", "all", "positions"]

    func testEachOptionMatchesThePyTorchReference() throws {
        for name in Self.variants {
            let folder = Fixtures.path("md-unets/\(name)")
            let unet = try UNet2DConditionModel(folder: folder)
            let ref = "md-unets/\(name)/reference.safetensors"
            let out = unet(try Fixtures.tensor(ref, "sample"), timesteps: try Fixtures.tensor(ref, "timesteps").data,
                           context: try Fixtures.tensor(ref, "context"))
            assertClose(out, try Fixtures.tensor(ref, "output"), "MobileDiffusion UNet [\(name)]")
        }
    }

    func testOptionsShapeTheModel() throws {
        let all = try UNet2DConditionModel(folder: Fixtures.path("md-unets/all"))
        XCTAssertEqual(all.config.separableConv, [false, true, true])
        XCTAssertEqual(all.config.selfAttention, [true, false, true])
        XCTAssertEqual(all.config.midLayers, 3)
        XCTAssertTrue(all.config.sharedKV)
        XCTAssertEqual(all.config.ffActivation, .swiglu)
        XCTAssertEqual(all.config.ffMult, 6)
        XCTAssertEqual(all.config.attentionActivation, .relu)
        XCTAssertEqual(all.mid?.attentions.first?.blocks.count, 3)
        XCTAssertNil(all.down[1].attentions.first?.blocks.first?.selfAttention, "cross-attention-only blocks have no attn1")
        XCTAssertNil(all.down[1].attentions.first?.blocks.first?.attn2.v, "K = V: no to_v")
    }

    /// md_position_bands: every transformer adds pos_proj(features) after proj_in; the features are PyTorch's
    /// (values printed by mdiff.unet.fourier_positions(2, 3, 2)), row-major tokens, u before v.
    func testFourierPositions() throws {
        let f = FourierPositions.features(h: 2, w: 3, bands: 2)
        XCTAssertEqual(f.shape, [6, 8])
        let s3 = Float(3).squareRoot() / 2, r2 = Float(0.5).squareRoot()
        let expected: [[Float]] = [
            [0.5, s3, s3, 0.5, r2, 1, r2, 0], [1, 0, 0, -1, r2, 1, r2, 0], [0.5, -s3, -s3, 0.5, r2, 1, r2, 0],
            [0.5, s3, s3, 0.5, r2, -1, -r2, 0], [1, 0, 0, -1, r2, -1, -r2, 0], [0.5, -s3, -s3, 0.5, r2, -1, -r2, 0],
        ]
        XCTAssertLessThan(f.maxAbsDiff(Tensor(shape: [6, 8], data: expected.flatMap { $0 })), 1e-6)

        let unet = try UNet2DConditionModel(folder: Fixtures.path("md-unets/positions"))
        XCTAssertEqual(unet.config.positionBands, 3)
        let transformers = unet.down.flatMap(\.attentions) + (unet.mid?.attentions ?? []) + unet.up.flatMap(\.attentions)
        XCTAssertFalse(transformers.isEmpty)
        XCTAssertTrue(transformers.allSatisfy { $0.positions?.proj.weight.shape == [$0.projIn.outFeatures, 12] })
        let plain = try UNet2DConditionModel(folder: Fixtures.path("md-unets/all"))
        XCTAssertEqual(plain.config.positionBands, 0)
        XCTAssertTrue((plain.down.flatMap(\.attentions)).allSatisfy { $0.positions == nil })
    }

    func testWholePipelineMatchesThePyTorchPipeline() throws {
        try assertRendersMatch(try TextToImage(folder: Fixtures.path("models/md-tiny")), model: "md-tiny")
    }

    func testReluAttentionAndDepthwiseAgainstNaive() {
        var rng = SplitMix(seed: 3)
        func random(_ shape: [Int]) -> Tensor { Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in rng.nextFloat() * 2 - 1 }) }
        for (lq, lk, heads, d) in [(7, 5, 2, 3), (33, 77, 3, 8), (1, 1, 1, 4)] {
            let q = random([2, lq, heads * d]), k = random([2, lk, heads * d]), v = random([2, lk, heads * d])
            let fast = AttentionKernel.forward(q: q, k: k, v: v, heads: heads, activation: .relu)
            let slow = AttentionKernel.naive(q: q, k: k, v: v, heads: heads, activation: .relu)
            XCTAssertLessThan(fast.maxAbsDiff(slow), 1e-5, "relu attention \(lq)x\(lk)")
        }
        for (c, h, w, stride) in [(5, 9, 7, 1), (3, 4, 11, 2), (16, 1, 1, 1), (2, 13, 3, 1)] {
            let conv = Conv2d(weight: random([c, 1, 3, 3]), bias: nil, stride: stride, padding: 1, groups: c)
            let x = random([2, c, h, w])
            XCTAssertLessThan(conv(x).maxAbsDiff(conv.naive(x)), 1e-5, "depthwise \(c)x\(h)x\(w) s\(stride)")
        }
    }
}
