import XCTest
@testable import Engine

/// Each component and the whole pipeline against diffusers on the tiny random-weight fixture models.
final class ModelParityTests: XCTestCase {
    static let models = ["sd-tiny", "md8-tiny", "taesd-tiny"]
    static var loaded: [String: TextToImage] = [:]

    func model(_ name: String) throws -> TextToImage {
        if let m = Self.loaded[name] { return m }
        let m = try TextToImage(folder: Fixtures.path("models/\(name)"))
        Self.loaded[name] = m
        return m
    }

    func ref(_ name: String, _ key: String) throws -> Tensor {
        try Fixtures.tensor("models/\(name)/reference.safetensors", key)
    }

    func testTextEncoder() throws {
        for name in Self.models {
            let m = try model(name)
            let info = try Fixtures.json("models/\(name)/reference.json")
            let ids = (info["ids"] as! [Int]).map(Int32.init)
            XCTAssertEqual(m.tokenizer.encode(info["prompt"] as! String), ids, name)
            assertClose(try m.textEncoder([ids]), try ref(name, "text_embeddings"), "\(name) text encoder")
        }
    }

    func testUNet() throws {
        for name in Self.models {
            let m = try model(name)
            let context = try ref(name, "text_embeddings"), sample = try ref(name, "unet_sample")
            for (t, key) in [(Float(999), "unet_output"), (250, "unet_output_t250")] {
                assertClose(m.unet(sample, timesteps: [t], context: context), try ref(name, key), "\(name) UNet t=\(Int(t))")
            }
        }
    }

    func testVAEDecoder() throws {
        for name in Self.models {
            let m = try model(name)
            assertClose(m.vae.decode(try ref(name, "vae_latents")), try ref(name, "vae_image"), "\(name) VAE decode")
        }
    }

    func testFinalImagesWithinOneLevel() throws {
        for name in Self.models { try assertRendersMatch(try model(name), model: name) }
    }

    func testRenderIsDeterministicAndCarriesMetadata() throws {
        let m = try model("sd-tiny")
        let req = RenderRequest(prompt: "déjà vu ✨", seed: 99, steps: 2)
        let a = try m.render(req), b = try m.render(req)
        XCTAssertEqual(a.png, b.png)
        let text = Dictionary(PNGCodec.textChunks(a.png), uniquingKeysWith: { x, _ in x })
        XCTAssertEqual(text["prompt"], "déjà vu ✨")
        XCTAssertEqual(text["seed"], "99")
        XCTAssertEqual(text["steps"], "2")
        XCTAssertEqual(text["model_sha256"], m.weightsSHA256)
        XCTAssertEqual(text["scheduler"], "EulerDiscreteScheduler")
        let decoded = try PNGCodec.decode(a.png)
        XCTAssertEqual(decoded.rgb, a.rgb)
    }

    func testInvalidSizesAreRejected() throws {
        let m = try model("sd-tiny")
        XCTAssertThrowsError(try m.render(RenderRequest(prompt: "x", seed: 1, width: 20, height: 32))) { e in
            XCTAssertTrue("\(e)".contains("width 20"), "\(e)")
        }
        XCTAssertThrowsError(try m.render(RenderRequest(prompt: "x", seed: 1, steps: 0)))
    }
}
