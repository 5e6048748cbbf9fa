import XCTest
@testable import Engine

/// A render canceled through its `RenderCancellation` stops at the next check (between stages, denoising steps,
/// UNet blocks and decoder blocks) with `EngineError.canceled`, and a render that is not canceled is unchanged.
final class RenderCancellationTests: XCTestCase {
    private let request = RenderRequest(prompt: "a red circle", seed: 3, steps: 4)

    func testACanceledRenderStopsAtTheNextCheckAndSaysWhere() throws {
        let m = try TextToImage(folder: Fixtures.path("models/md8-tiny"))
        let c = RenderCancellation()
        c.cancel(reason: "test")
        c.cancel(reason: "a later reason is ignored")
        XCTAssertThrowsError(try m.render(request, cancellation: c)) { e in
            XCTAssertEqual(e as? EngineError, .canceled(reason: "test", stage: "the text encoder"))
            XCTAssertEqual("\(e)", "render canceled at the text encoder: test")
        }
        // The engine is usable afterwards (its lock was released), and an uncanceled token changes nothing.
        let plain = try m.render(request)
        XCTAssertEqual(try m.render(request, cancellation: RenderCancellation()).png, plain.png)
    }

    func testTheUNetAndDecoderAskBetweenBlocks() throws {
        let m = try TextToImage(folder: Fixtures.path("models/md8-tiny"))
        let x = Tensor(zeros: [1, m.unet.config.inChannels, 8, 8])
        let context = Tensor(zeros: [1, m.textEncoder.config.maxPositions, m.unet.config.crossAttentionDim])
        var asked = 0
        let full = m.unet(x, timesteps: [1], context: context) { asked += 1 }
        XCTAssertEqual(asked, m.unet.down.count + (m.unet.mid == nil ? 0 : 1) + m.unet.up.count, "once per block")
        XCTAssertEqual(full.data, m.unet(x, timesteps: [1], context: context).data, "checking changes no value")
        // A check that throws at the second block ends the forward pass there.
        struct Stop: Error {}
        asked = 0
        XCTAssertThrowsError(try m.unet(x, timesteps: [1], context: context) { asked += 1; if asked == 2 { throw Stop() } })
        XCTAssertEqual(asked, 2)
        var decoderAsked = 0
        _ = m.vae.decode(Tensor(zeros: [1, m.vae.latentChannels, 4, 4])) { decoderAsked += 1 }
        XCTAssertGreaterThan(decoderAsked, 1, "the decoder asks between its blocks")
    }
}
