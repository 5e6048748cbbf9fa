import Foundation
import XCTest
@testable import Engine

/// Every PNG carries AUTOMATIC1111's `parameters` chunk beside mdd's own, read back here as A1111's PNG Info
/// would: the prompt, then `Negative prompt: …`, then one line of comma-separated settings.
final class A1111ParametersTests: XCTestCase {
    func testParametersChunkReadsBackInA1111Form() throws {
        let m = try TextToImage(folder: Fixtures.path("models/sd-tiny"))
        let image = try m.render(RenderRequest(prompt: "a red circle, watercolor", negativePrompt: "blurry", seed: 1234, steps: 2, guidance: 7.5))
        let text = Dictionary(PNGCodec.textChunks(image.png), uniquingKeysWith: { x, _ in x })
        let parameters = try XCTUnwrap(text["parameters"])
        let lines = parameters.components(separatedBy: "\n")
        XCTAssertEqual(lines.count, 3, parameters)
        XCTAssertEqual(lines[0], "a red circle, watercolor")
        XCTAssertEqual(lines[1], "Negative prompt: blurry")
        let settings = Self.settings(lines[2])
        XCTAssertEqual(settings["Steps"], "2")
        XCTAssertEqual(settings["Sampler"], "Euler")
        XCTAssertEqual(settings["CFG scale"], "7.5")
        XCTAssertEqual(settings["Seed"], "1234")
        XCTAssertEqual(settings["Size"], "\(text["width"] ?? "")x\(text["height"] ?? "")")
        XCTAssertEqual(settings["Model hash"], String(m.weightsSHA256.prefix(10)))
        XCTAssertEqual(settings["Model"], m.modelName)
        XCTAssertEqual(text["prompt"], "a red circle, watercolor", "mdd's own chunks are unchanged")

        let plain = try m.render(RenderRequest(prompt: "no negative", seed: 1, steps: 1))
        let p = try XCTUnwrap(Dictionary(PNGCodec.textChunks(plain.png), uniquingKeysWith: { x, _ in x })["parameters"])
        XCTAssertEqual(p.components(separatedBy: "\n").count, 2, "no Negative prompt line without one")
        XCTAssertEqual(Self.settings(p.components(separatedBy: "\n")[1])["CFG scale"], "0")
    }

    /// "Key: value, Key: value" as A1111's parser splits it (values here hold no commas).
    static func settings(_ line: String) -> [String: String] {
        Dictionary(line.components(separatedBy: ", ").compactMap { pair -> (String, String)? in
            guard let colon = pair.range(of: ": ") else { return nil }
            return (String(pair[..<colon.lowerBound]), String(pair[colon.upperBound...]))
        }, uniquingKeysWith: { a, _ in a })
    }
}
