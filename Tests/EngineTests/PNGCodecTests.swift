@testable import Engine
import XCTest

/// PNG encoding at every zlib level (the fast levels use the Paeth filter alone, the slow ones libpng's adaptive
/// choice): lossless round trips, text chunks kept, out-of-range levels refused with a clear message.
final class PNGCodecTests: XCTestCase {
    /// A 37×23 image with flat areas, edges and noise, so every filter type has something to do.
    private func sample() -> (rgb: [UInt8], width: Int, height: Int) {
        let width = 37, height = 23
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        var state: UInt32 = 12345
        for y in 0..<height {
            for x in 0..<width {
                state = state &* 1_664_525 &+ 1_013_904_223
                let i = (y * width + x) * 3
                rgb[i] = x < 18 ? 220 : 40
                rgb[i + 1] = UInt8((x * 7 + y * 3) & 0xFF)
                rgb[i + 2] = UInt8(truncatingIfNeeded: state >> 24)
            }
        }
        return (rgb, width, height)
    }

    func testEveryLevelRoundTripsLosslessly() throws {
        let (rgb, width, height) = sample()
        for level in 0...9 {
            let png = try PNGCodec.encode(rgb: rgb, width: width, height: height, text: [("prompt", "a red circle")], compression: level)
            let decoded = try PNGCodec.decode(png)
            XCTAssertEqual(decoded.width, width, "level \(level)")
            XCTAssertEqual(decoded.height, height, "level \(level)")
            XCTAssertEqual(decoded.rgb, rgb, "level \(level)")
            XCTAssertEqual(PNGCodec.textChunks(png).first?.1, "a red circle", "level \(level)")
        }
    }

    func testDefaultLevelIsDeterministic() throws {
        let (rgb, width, height) = sample()
        let a = try PNGCodec.encode(rgb: rgb, width: width, height: height, text: [])
        let b = try PNGCodec.encode(rgb: rgb, width: width, height: height, text: [], compression: PNGCodec.defaultCompression)
        XCTAssertEqual(a, b)
    }

    func testOutOfRangeLevelIsRefused() {
        let (rgb, width, height) = sample()
        XCTAssertThrowsError(try PNGCodec.encode(rgb: rgb, width: width, height: height, text: [], compression: 10)) { error in
            XCTAssertTrue("\(error)".contains("compression level must be 0…9, got 10"), "\(error)")
        }
    }
}
