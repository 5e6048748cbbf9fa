import Foundation
import XCTest
@testable import Engine

/// The embedded default model (models/shapes-md) against its PyTorch pipeline: the reference renders in
/// Fixtures/shapes-md come from training/shapes/make_parity_fixture.py over the same exported F16 weights.
final class ShippedModelTests: XCTestCase {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../models/shapes-md").standardized.path

    func testRendersMatchPyTorchPipeline() throws {
        let m = try TextToImage(folder: Self.folder)
        let info = try Fixtures.json("shapes-md/reference.json")
        XCTAssertEqual(m.weightsSHA256, info["weights_sha256"] as? String,
                       "Fixtures/shapes-md was made for other weights: rerun training/shapes/make_parity_fixture.py after exporting")
        try assertRendersMatch(m, reference: "shapes-md", model: "shapes-md")
    }

    func testUnknownWordsAndLongPromptsRender() throws {
        let m = try TextToImage(folder: Self.folder)
        XCTAssertEqual(m.tokenizer.maxLength, 40, "the shipped text encoder has 40 positions")
        let long = String(repeating: "a very very long prompt about squares ", count: 20)
        for prompt in ["", "🦓🦓🦓", long, "ÅÄÖ ß ñ 東京"] {
            let image = try m.render(RenderRequest(prompt: prompt, seed: 1))
            XCTAssertEqual(image.width, 128)
            XCTAssertEqual(image.rgb.count, 128 * 128 * 3)
        }
    }
}
