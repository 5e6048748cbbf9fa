@testable import Daemon
import Engine
import Foundation
import Wire
import XCTest

/// The status pages against the real daemon: their numbers and JSON agree with mdctl, thumbnails and the contact
/// sheet decode to the expected sizes, the shown `mdd render` command renders the same bytes, and no path escapes
/// the output folder.
final class HTTPPagesTests: XCTestCase {
    private static let prompts = ["a red circle", "a <b>blue</b> square", "a green triangle", "sunset over the sea", "a cat"]

    /// A daemon with batch "web": five images (seeds 1000…1004) and one job that fails (a size the model refuses).
    private func daemonWithBatch() throws -> (DaemonHarness, HTTPTestClient) {
        let h = try DaemonHarness(test: self)
        try h.start(["--http", "127.0.0.1:0"])
        XCTAssertEqual(h.ctl(["submit"] + Self.prompts + ["--batch", "web", "--seed", "1000"]).status, 0)
        let bad = h.dir + "/bad.jsonl"
        try #"{"prompt": "bad size", "width": 12, "height": 12}"#.write(toFile: bad, atomically: true, encoding: .utf8)
        XCTAssertEqual(h.ctl(["submit", "-f", bad, "--batch", "web"]).status, 0)
        XCTAssertEqual(h.ctl(["wait", "--batch", "web", "--quiet", "--timeout", "60"]).status, 7, "one job failed")
        return (h, HTTPTestClient(port: try h.httpPort()))
    }

    func testPagesAndAPIAgreeWithMdctl() throws {
        let (h, client) = try daemonWithBatch()
        let status = try WireCoding.decoder().decode(StatusReply.self, from: try client.get("/api/status").body)
        let ctlStatus = try h.json(["status"], as: StatusReply.self)
        XCTAssertEqual(status.counts, ctlStatus.counts)
        XCTAssertEqual(status.batches, ctlStatus.batches)
        XCTAssertEqual(status.counts.succeeded, 5)
        XCTAssertEqual(status.counts.failed, 1)
        let list = try client.get("/api/batches/web")
        XCTAssertEqual(list.headers["content-type"], "application/json")
        XCTAssertEqual(try WireCoding.decoder().decode(ListReply.self, from: list.body), try h.json(["ls", "--batch", "web"], as: ListReply.self))
        XCTAssertEqual(try client.get("/api/batches/nope").status, 404, "like `mdctl ls` (exit 4), an unknown batch is not found")
        XCTAssertEqual(h.ctl(["ls", "--batch", "nope"]).status, 4)

        let index = try client.get("/").text
        XCTAssertTrue(index.contains(#"<tr data-batch="web">"#), index)
        XCTAssertTrue(index.contains(#"<td class="succeeded">5</td>"#))
        XCTAssertTrue(index.contains(#"<td class="failed">1</td>"#))
        XCTAssertTrue(index.contains("<svg"), "throughput plot")
        XCTAssertTrue(index.contains("1 node(s) up, 1 worker(s)") && index.contains("<tr data-node="), "the one node and its worker")
        XCTAssertFalse(index.contains("<script"), "no JavaScript")
        XCTAssertFalse(index.contains("http-equiv=\"refresh\""), "nothing runs: no refresh")

        let batch = try client.get("/batches/web").text
        let ls = try h.json(["ls", "--batch", "web", "--state", "succeeded"], as: ListReply.self)
        for (i, job) in ls.jobs.enumerated() {
            XCTAssertTrue(batch.contains("<img src=\"/thumbs/\(job.id).png\""), "thumbnail of job \(job.id)")
            XCTAssertTrue(batch.contains("#\(i) · seed \(1000 + i)"), "label of job \(job.id)")
        }
        XCTAssertTrue(batch.contains("title=\"a &lt;b&gt;blue&lt;/b&gt; square\""), "prompt on hover, escaped")
        let failed = try client.get("/batches/web?state=failed").text
        XCTAssertTrue(failed.contains("bad size") && failed.contains("class=\"err\""), failed)
        XCTAssertEqual(try client.get("/batches/web?state=bogus").status, 400)
        XCTAssertEqual(try client.get("/batches/nope").status, 404)
    }

    func testThumbnailsContactSheetAndRenderCommand() throws {
        let (h, client) = try daemonWithBatch()
        let job = try XCTUnwrap(try h.json(["ls", "--batch", "web", "--state", "succeeded"], as: ListReply.self).jobs.first)
        let thumb = try client.get("/thumbs/\(job.id).png")
        XCTAssertEqual(thumb.headers["content-type"], "image/png")
        let decoded = try PNGCodec.decode([UInt8](thumb.body))
        XCTAssertEqual([decoded.width, decoded.height], [128, 128])
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(h.stateDir)/thumbnails/web/\(job.id)-128.png"), "cached")
        XCTAssertEqual(try client.get("/thumbs/\(job.id).png").body, thumb.body, "made once, served from the cache")

        let sheet = try client.get("/batches/web/contact-sheet.png?columns=5&size=64")
        let image = try PNGCodec.decode([UInt8](sheet.body))
        XCTAssertEqual(image.width, 5 * (64 + 8) + 8)
        XCTAssertEqual(image.height, ContactSheet.headerHeight + 64 + ContactSheet.labelHeight + 2 * ContactSheet.margin, "header, one row of tiles")

        let page = try client.get("/jobs/\(job.id)").text
        XCTAssertTrue(page.contains("<td class=\"seed\">\(job.seed)</td>"))
        let command = try XCTUnwrap(Self.firstCode(page))
        XCTAssertTrue(command.hasPrefix("MDD_FP32_BACKEND="), command)
        let out = h.dir + "/again"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let r = h.run("/bin/sh", ["-c", "cd \(out) && \(command)"], environment: ["PATH": h.binDir + ":/usr/bin:/bin"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(FileManager.default.contents(atPath: "\(out)/job-\(job.id).png"), FileManager.default.contents(atPath: try XCTUnwrap(job.path)),
                       "the page's command renders the same bytes")
        XCTAssertEqual(try client.get("/jobs/999999").status, 404)
    }

    func testImagesStayInsideTheOutputFolder() throws {
        let (h, client) = try daemonWithBatch()
        let job = try XCTUnwrap(try h.json(["ls", "--batch", "web", "--state", "succeeded"], as: ListReply.self).jobs.first)
        let file = try XCTUnwrap(job.path.map { ($0 as NSString).lastPathComponent })
        XCTAssertEqual(try client.get("/images/web/\(file)").status, 200)
        try FileManager.default.createSymbolicLink(atPath: h.stateDir + "/outputs/web/link.png", withDestinationPath: "/etc/passwd")
        for path in ["/images/../../etc/passwd", "/images/%2e%2e/%2e%2e/etc/passwd", "/images/..%2f..%2fetc%2fpasswd",
                     "/images/web/..%2f..%2f..%2f..%2f..%2fetc%2fpasswd", "/images/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
                     "/images//etc/passwd", "/images/web/link.png", "/images/web", "/images/web/..", "/images/%252e%252e/etc/passwd",
                     "/images/web/../../queue.sqlite", "/images/..\\..\\etc\\passwd"] {
            let r = try client.get(path)
            XCTAssertEqual(r.status, 404, path)
            XCTAssertFalse(r.text.contains("root:"), path)
        }
    }

    /// The text of the first `<pre><code>` block, HTML entities decoded.
    static func firstCode(_ page: String) -> String? {
        guard let start = page.range(of: "<pre><code>"), let end = page.range(of: "</code></pre>", range: start.upperBound..<page.endIndex) else { return nil }
        return String(page[start.upperBound..<end.lowerBound]).replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'").replacingOccurrences(of: "&amp;", with: "&")
    }
}
