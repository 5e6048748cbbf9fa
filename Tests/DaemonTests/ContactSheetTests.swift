@testable import Daemon
import Engine
import Foundation
import Wire
import XCTest

/// `mdctl contact-sheet` through the real daemon, and the drawing pieces under it.
final class ContactSheetTests: XCTestCase {
    func testContactSheetOfABatch() throws {
        let h = try DaemonHarness(test: self)
        try h.start()
        let prompts = ["a red circle", "a blue square", "a green triangle", "sunset over the sea", "a cat"]
        XCTAssertEqual(h.ctl(["submit"] + prompts + ["--batch", "sheet", "--seed", "1000"]).status, 0)
        XCTAssertEqual(h.ctl(["wait", "--batch", "sheet", "--quiet", "--timeout", "60"]).status, 0)

        let out = h.dir + "/sheet.png"
        let r = h.ctl(["contact-sheet", "--batch", "sheet", "-o", out, "--columns", "2", "--size", "64"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let png = [UInt8](try XCTUnwrap(FileManager.default.contents(atPath: out)))
        let image = try PNGCodec.decode(png)
        let tileHeight = 64 + ContactSheet.labelHeight + ContactSheet.margin
        XCTAssertEqual(image.width, 360, "two 64 px columns, widened to fit the header")
        XCTAssertEqual(image.height, ContactSheet.headerHeight + 3 * tileHeight + ContactSheet.margin, "five tiles in three rows")

        let info = try WireCoding.decoder().decode(ContactSheetInfo.self, from: try Data(contentsOf: URL(fileURLWithPath: h.dir + "/sheet.json")))
        XCTAssertEqual(info.tiles.map(\.index), [0, 1, 2, 3, 4])
        XCTAssertEqual(info.tiles.map(\.seed), [1000, 1001, 1002, 1003, 1004])
        XCTAssertEqual(info.tiles.map(\.prompt), prompts)
        XCTAssertEqual(info.tiles.last.map { [$0.column, $0.row] }, [0, 2])
        XCTAssertEqual(info.width, image.width)
        let text = Dictionary(PNGCodec.textChunks(png), uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(text["batch"], "sheet")
        let chunk = try XCTUnwrap(text["prompts"]?.data(using: .utf8))
        let listed = try XCTUnwrap(JSONSerialization.jsonObject(with: chunk) as? [[String: Any]])
        XCTAssertEqual(listed.compactMap { $0["prompt"] as? String }, prompts)

        // The first tile shows the first image, downscaled: its mean colour matches the image's.
        let first = try PNGCodec.decode([UInt8](try XCTUnwrap(FileManager.default.contents(atPath: try XCTUnwrap(info.tiles[0].path)))))
        let tileMean = Self.mean(image, x: ContactSheet.margin, y: ContactSheet.headerHeight, size: 64)
        let imageMean = Self.mean(first, x: 0, y: 0, size: first.width)
        for c in 0..<3 { XCTAssertEqual(tileMean[c], imageMean[c], accuracy: 2, "channel \(c)") }

        XCTAssertEqual(h.ctl(["contact-sheet", "--batch", "nope", "-o", out]).status, 4, "unknown batch → not found")
        XCTAssertEqual(h.ctl(["contact-sheet", "--batch", "sheet", "-o", out, "--state", "bogus"]).status, 5)
        XCTAssertEqual(h.ctl(["contact-sheet", "--batch", "sheet", "-o", out, "--size", "1024", "--limit", "10000"]).status, 0,
                       "five tiles are small whatever the limit")
    }

    /// The verb's help is part of the interface (regenerate with
    /// `COLUMNS=80 .build/debug/mdctl contact-sheet --help > Tests/DaemonTests/Snapshots/mdctl-contact-sheet-help.txt`).
    func testHelpSnapshot() throws {
        let h = try DaemonHarness(test: self)
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Snapshots/mdctl-contact-sheet-help.txt")
        let expected = try String(contentsOf: file, encoding: .utf8)
        XCTAssertEqual(h.run(h.binDir + "/mdctl", ["contact-sheet", "--help"], environment: ["COLUMNS": "80"]).stdout, expected)
    }

    func testDefaultSheetFitsTheCap() {
        let r = ContactSheetRequest(batch: "b")
        let g = ContactSheet.geometry(tiles: r.limit, columns: r.columns, size: r.size)
        XCTAssertLessThanOrEqual(g.width * g.height * 3, ContactSheet.maxRawBytes, "the defaults always make a sheet")
        XCTAssertEqual([g.columns, g.rows], [16, 16])
    }

    func testCanvasScalesByAreaAndDrawsText() {
        var c = RGBCanvas(width: 2, height: 1, background: (0, 0, 0))
        // A 2×2 image of 0 and 200 averages to 100 in a 1-pixel box (centred in x = 0).
        c.draw(rgb: [0, 0, 0, 200, 200, 200, 200, 200, 200, 0, 0, 0], width: 2, height: 2, x: 0, y: 0, box: 1)
        XCTAssertEqual(Array(c.pixels[0..<3]), [100, 100, 100])
        XCTAssertEqual(Array(c.pixels[3..<6]), [0, 0, 0])

        var t = RGBCanvas(width: 12, height: 7, background: (0, 0, 0))
        t.text("1", x: 0, y: 0, (255, 255, 255))
        // "1": rows 0x04, 0x0C, 0x04 … 0x0E → column 2 is set on every row, column 1 on the second.
        XCTAssertEqual(t.pixels[(0 * 12 + 2) * 3], 255)
        XCTAssertEqual(t.pixels[(1 * 12 + 1) * 3], 255)
        XCTAssertEqual(t.pixels[(0 * 12 + 1) * 3], 0)
        XCTAssertEqual(BitmapFont.width("ab"), 11)
        XCTAssertEqual(BitmapFont.glyph("a"), BitmapFont.glyph("A"))
        XCTAssertEqual(BitmapFont.glyph("ß"), BitmapFont.glyph("S"), "multi-character upper cases take the first")
        XCTAssertEqual(BitmapFont.glyph("€"), BitmapFont.glyph("?"))
    }

    private static func mean(_ image: (rgb: [UInt8], width: Int, height: Int), x: Int, y: Int, size: Int) -> [Double] {
        var sum = [0.0, 0.0, 0.0]
        for row in y..<(y + size) {
            for col in x..<(x + size) {
                for c in 0..<3 { sum[c] += Double(image.rgb[(row * image.width + col) * 3 + c]) }
            }
        }
        return sum.map { $0 / Double(size * size) }
    }
}
