import Engine
import Foundation
import Wire
import XCTest

/// The pages in a real browser (Debian's headless chromium, installed by scripts/lib.sh): the DOM it builds
/// shows the numbers `mdctl status --json` reports, and a screenshot renders.
final class HTTPBrowserTests: XCTestCase {
    private static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }

    func testPagesInHeadlessChromium() throws {
        guard let chromium = Self.chromium else {
            print("SKIP testPagesInHeadlessChromium: chromium is not installed (scripts/test.sh installs it)")
            throw XCTSkip("chromium is not installed")
        }
        let h = try DaemonHarness(test: self)
        try h.start(["--http", "127.0.0.1:0"])
        XCTAssertEqual(h.ctl(["submit", "one", "two", "three", "--batch", "seen", "--seed", "3"]).status, 0)
        XCTAssertEqual(h.ctl(["wait", "--batch", "seen", "--quiet", "--timeout", "60"]).status, 0)
        XCTAssertEqual(h.ctl(["pause"]).status, 0)
        XCTAssertEqual(h.ctl(["submit", "four", "--batch", "held"]).status, 0)
        let base = "http://127.0.0.1:\(try h.httpPort())"
        let status = try h.json(["status"], as: StatusReply.self)

        let index = try browse(chromium, h, ["--dump-dom", base + "/"])
        for b in status.batches {
            for (state, n) in [("pending", b.counts.pending), ("succeeded", b.counts.succeeded), ("failed", b.counts.failed)] {
                XCTAssertEqual(Self.cell(index, batch: b.name, state: state), "\(n)", "\(b.name) \(state)")
            }
        }
        XCTAssertTrue(index.contains("http-equiv=\"refresh\""), "a pending job keeps the page refreshing")

        let batch = try browse(chromium, h, ["--dump-dom", base + "/batches/seen"])
        XCTAssertEqual(batch.components(separatedBy: "<img src=\"/thumbs/").count - 1, 3)

        let shot = h.dir + "/shot.png"
        _ = try browse(chromium, h, ["--hide-scrollbars", "--window-size=800,600", "--screenshot=\(shot)", base + "/batches/seen"])
        let image = try PNGCodec.decode([UInt8](try XCTUnwrap(FileManager.default.contents(atPath: shot))))
        XCTAssertEqual([image.width, image.height], [800, 600])
    }

    /// Runs headless chromium (no sandbox: the tests may run as root) and returns its standard output.
    private func browse(_ chromium: String, _ h: DaemonHarness, _ args: [String]) throws -> String {
        let r = h.run("/usr/bin/timeout", ["120", chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                                           "--user-data-dir=\(h.dir)/chromium"] + args)
        guard r.status == 0 else { throw HarnessError("chromium \(args) failed (\(r.status)): \(r.stderr.suffix(600))") }
        return r.stdout
    }

    /// The text of `<td class="STATE">` in the batch's row of the index page.
    private static func cell(_ dom: String, batch: String, state: String) -> String? {
        guard let row = dom.range(of: "<tr data-batch=\"\(batch)\">"),
              let end = dom.range(of: "</tr>", range: row.upperBound..<dom.endIndex) else { return nil }
        let html = dom[row.upperBound..<end.lowerBound]
        guard let open = html.range(of: "<td class=\"\(state)\">"), let close = html.range(of: "</td>", range: open.upperBound..<html.endIndex) else { return nil }
        return String(html[open.upperBound..<close.lowerBound])
    }
}
