import Engine
import Foundation
import Queue
import Wire
import XCTest

/// The real daemon driven by the real mdctl.
final class DaemonIntegrationTests: XCTestCase {
    func testBatchOf200RendersReRenderableImages() throws {
        let h = try DaemonHarness(test: self)
        try h.start()
        let file = h.dir + "/prompts.txt"
        try (1...200).map { "a red circle number \($0)" }.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let submit = h.ctl(["submit", "-f", file, "--batch", "b200", "--seed", "5000"])
        XCTAssertEqual(submit.status, 0, submit.stderr)
        XCTAssertTrue(submit.stdout.contains("200 enqueued"), submit.stdout)
        let wait = h.ctl(["wait", "--batch", "b200", "--quiet", "--timeout", "120"])
        XCTAssertEqual(wait.status, 0, wait.stderr)

        let status = try h.json(["status"], as: StatusReply.self)
        XCTAssertEqual(status.counts.succeeded, 200)
        let stats = try h.json(["stats"], as: StatsReply.self)
        XCTAssertEqual(stats.windows.last?.completed, 200)
        XCTAssertEqual(stats.remaining, 0)
        let export = h.ctl(["export", "--batch", "b200", "--format", "jsonl"])
        let rows = export.stdout.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(rows.count, 200)
        for row in rows {
            let path = row["path"] as! String, seed = (row["seed"] as! NSNumber).int64Value
            let png = try XCTUnwrap(FileManager.default.contents(atPath: path))
            XCTAssertEqual(SHA256.hex([UInt8](png)), row["sha256"] as? String, "file hash matches its row")
            let text = Dictionary(PNGCodec.textChunks([UInt8](png)), uniquingKeysWith: { a, _ in a })
            XCTAssertEqual(text["seed"], String(seed))
            XCTAssertEqual(text["prompt"], row["prompt"] as? String)
        }
        XCTAssertEqual(Set(rows.map { ($0["seed"] as! NSNumber).int64Value }), Set((0..<200).map { 5000 + Int64($0) }))
        // Any job re-renders to identical bytes with `mdd render`, its recorded seed and the precision the daemon
        // recorded (`auto` may have chosen bf16), and with `mdd render --from` its PNG.
        let pick = rows[137]
        let picked = try XCTUnwrap(FileManager.default.contents(atPath: pick["path"] as! String))
        let precision = Dictionary(PNGCodec.textChunks([UInt8](picked)), uniquingKeysWith: { a, _ in a })["precision"] ?? "fp32"
        let out = h.dir + "/again.png"
        let r = h.mdd(["render", "--model", h.model, "--prompt", pick["prompt"] as! String, "--seed", "\(pick["seed"]!)",
                       "--precision", precision, "--out", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(FileManager.default.contents(atPath: out), picked)
        let from = h.mdd(["render", "--model", h.model, "--from", pick["path"] as! String, "--out", h.dir + "/from.png"])
        XCTAssertEqual(from.status, 0, from.stderr + from.stdout)
        XCTAssertEqual(FileManager.default.contents(atPath: h.dir + "/from.png"), picked)
        // Resubmitting the same file enqueues nothing.
        XCTAssertTrue(h.ctl(["submit", "-f", file, "--batch", "b200", "--seed", "5000"]).stdout.contains("0 enqueued, 200 duplicates"))
    }

    func testPauseCancelRetryResume() throws {
        let h = try DaemonHarness(test: self)
        try h.start()
        XCTAssertEqual(h.ctl(["pause"]).status, 0)
        XCTAssertEqual(h.ctl(["submit", "one", "two", "three", "--batch", "ctl"]).status, 0)
        var s = try h.json(["status", "--batch", "ctl"], as: StatusReply.self)
        XCTAssertTrue(s.paused)
        XCTAssertEqual(s.counts.pending, 3)
        XCTAssertTrue(h.ctl(["cancel", "--batch", "ctl"]).stdout.contains("canceled 3"))
        XCTAssertEqual(h.ctl(["wait", "--batch", "ctl", "--quiet"]).status, 7, "wait fails when jobs were canceled")
        XCTAssertTrue(h.ctl(["retry", "--batch", "ctl", "--canceled"]).stdout.contains("retrying 3"))
        XCTAssertEqual(h.ctl(["resume"]).status, 0)
        XCTAssertEqual(h.ctl(["wait", "--batch", "ctl", "--quiet", "--timeout", "60"]).status, 0)
        s = try h.json(["status", "--batch", "ctl"], as: StatusReply.self)
        XCTAssertEqual(s.counts.succeeded, 3)
        XCTAssertEqual(h.ctl(["show", "999999"]).status, 4, "unknown job → not found")
        XCTAssertEqual(h.ctl(["cancel", "--batch", "nope"]).status, 4)
        let ws = try h.json(["workers"], as: WorkersReply.self)
        XCTAssertEqual(ws.workers.first?.completed, 3)
    }

    func testBadInputFilesAreRejectedWholeWithLineNumbers() throws {
        let h = try DaemonHarness(test: self)
        try h.start()
        let r = try h.submitFile("bad.jsonl", "{\"prompt\": \"ok\"}\n{\"prompt\": \"x\", \"seed\": -4}\nnot json\n", ["--batch", "bad"])
        XCTAssertEqual(r.status, 5)
        XCTAssertTrue(r.stderr.contains("bad.jsonl:2") && r.stderr.contains("seed"), r.stderr)
        var bytes = Data("fine\n".utf8)
        bytes.append(contentsOf: [0xFF, 0xFE, 0x0A])
        try bytes.write(to: URL(fileURLWithPath: h.dir + "/utf.txt"))
        let u = h.ctl(["submit", "-f", h.dir + "/utf.txt", "--batch", "bad"])
        XCTAssertEqual(u.status, 5)
        XCTAssertTrue(u.stderr.contains("utf.txt:2: invalid UTF-8"), u.stderr)
        XCTAssertEqual(try h.json(["status"], as: StatusReply.self).counts.total, 0, "nothing partially inserted")
    }

    /// A file name given as a prompt is refused before anything is sent (no daemon needed to see it); --literal
    /// sends it anyway (and then reaches for the daemon, which is not running here: exit 3).
    func testFileNameAsPromptAsksForDashF() throws {
        let h = try DaemonHarness(test: self)
        let file = h.dir + "/prompts.txt"
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data("a red circle\n".utf8)))
        let r = h.ctl(["submit", file])
        XCTAssertEqual(r.status, 64)
        XCTAssertTrue(r.stderr.contains("is a file: submit its lines with -f \(file)"), r.stderr)
        XCTAssertEqual(h.ctl(["submit", "--literal", file]).status, 3)
        XCTAssertEqual(h.ctl(["submit", h.dir]).status, 3, "a directory is not taken for a prompt file")
    }

    func testUnreachableDaemonHasAHelpfulError() throws {
        let h = try DaemonHarness(test: self)
        let r = h.ctl(["status"])
        XCTAssertEqual(r.status, 3)
        XCTAssertTrue(r.stderr.contains("daemon not running at \(h.socket)") && r.stderr.contains("mdd serve"), r.stderr)
    }

    func testCorruptDatabaseRefusesToStart() throws {
        let h = try DaemonHarness(test: self)
        try FileManager.default.createDirectory(atPath: h.stateDir, withIntermediateDirectories: true)
        try Data(repeating: 7, count: 4096).write(to: URL(fileURLWithPath: h.stateDir + "/queue.sqlite"))
        let r = h.mdd(["serve", "--state-dir", h.stateDir, "--socket", h.socket, "--model", h.model])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("not a usable mdd database"), r.stderr)
    }

    /// `mdctl --help` and `mdctl submit --help` are part of the interface: compare with the committed snapshots
    /// (regenerate with `COLUMNS=80 .build/debug/mdctl --help > Tests/DaemonTests/Snapshots/mdctl-help.txt`).
    func testHelpSnapshots() throws {
        let h = try DaemonHarness(test: self)
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Snapshots")
        for (args, file) in [(["--help"], "mdctl-help.txt"), (["submit", "--help"], "mdctl-submit-help.txt")] {
            let expected = try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)
            // Help wraps to $COLUMNS: pin it so the snapshot does not depend on the terminal.
            XCTAssertEqual(h.run(h.binDir + "/mdctl", args, environment: ["COLUMNS": "80"]).stdout, expected, file)
        }
    }

    func testHelpListsEveryVerb() {
        let h = try! DaemonHarness(test: self)
        let help = h.run(h.binDir + "/mdctl", ["--help"]).stdout
        for verb in ["submit", "status", "ls", "show", "watch", "wait", "cancel", "retry", "pause", "resume", "stats", "export", "workers", "health", "backup", "prune", "shutdown"] {
            XCTAssertTrue(help.contains("  \(verb)"), "--help lacks \(verb)")
        }
    }
}
