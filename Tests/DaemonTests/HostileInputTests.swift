import Foundation
@testable import Queue
import Wire
import XCTest

/// What an honest but hostile user submits: the largest seeds, control characters, byte-order marks, duplicate keys
/// and out-of-range records. Everything is stored exactly as given or refused at its file and line, and nothing a
/// client sends can stop the daemon.
final class HostileInputTests: XCTestCase {
    /// A raw submit over the socket, as a client other than mdctl would send it.
    private func rawSubmit(_ h: DaemonHarness, _ jobs: [WireJob], baseSeed: Int64? = nil, startIndex: Int = 0) throws -> WireError? {
        let request = SubmitRequest(batch: "raw", baseSeed: baseSeed, steps: 1, guidance: 0, width: nil, height: nil, priority: 0,
                                    maxAttempts: 3, startIndex: startIndex, jobs: jobs)
        return try ControlClient(path: h.socket).callError(.submit, request)
    }

    func testLargestSeedsRenderAndAnOverflowingBaseSeedIsRefused() throws {
        let h = try DaemonHarness(test: self)
        try h.start()
        let top = h.ctl(["submit", "--seed", "9223372036854775806", "a red circle", "a blue square", "--batch", "top"])
        XCTAssertEqual(top.status, 0, top.stderr)
        XCTAssertEqual(h.ctl(["wait", "--batch", "top", "--quiet", "--timeout", "60"]).status, 0)
        let jobs = try h.json(["ls", "--batch", "top"], as: ListReply.self).jobs
        XCTAssertEqual(jobs.map(\.seed), [Int64.max - 1, Int64.max])
        XCTAssertEqual(jobs.map(\.state), ["succeeded", "succeeded"])
        // base + 1 would pass 2^63 − 1: refused before sending, naming the argument.
        let over = h.ctl(["submit", "--seed", "9223372036854775807", "a red circle", "a blue square", "--batch", "over"])
        XCTAssertEqual(over.status, 5)
        XCTAssertTrue(over.stderr.contains("argument:2: seed: --seed 9223372036854775807 + index 1 exceeds 2^63−1"), over.stderr)
        // The daemon checks for itself what a client derives or sends.
        XCTAssertEqual(try rawSubmit(h, [WireJob(prompt: "a"), WireJob(prompt: "b")], baseSeed: Int64.max)?.jobIndex, 1)
        XCTAssertEqual(try rawSubmit(h, [WireJob(prompt: "a", seed: -1)])?.code, .invalid)
        XCTAssertEqual(try rawSubmit(h, [WireJob(prompt: "a")], baseSeed: 1, startIndex: Int.max)?.code, .invalid)
        XCTAssertEqual(h.ctl(["health"]).status, 0, "the daemon is still up")
        XCTAssertEqual(try h.json(["status"], as: StatusReply.self).counts.total, 2)
    }

    /// A row the queue would never accept (a negative seed written behind its back) fails its job, not the daemon.
    func testABadRowFailsItsJobAndTheDaemonStaysUp() throws {
        let h = try DaemonHarness(test: self)
        try FileManager.default.createDirectory(atPath: h.stateDir, withIntermediateDirectories: true)
        do {
            let store = try JobStore(path: h.stateDir + "/queue.sqlite")
            _ = try store.submit(batch: BatchSpec(name: "neg"), jobs: [JobSpec(prompt: "a red circle", seed: 1)])
            try store.db.exec("UPDATE jobs SET seed = -5")
        }
        try h.start()
        XCTAssertEqual(h.ctl(["wait", "--batch", "neg", "--quiet", "--timeout", "60"]).status, 7)
        let job = try XCTUnwrap(try h.json(["ls", "--batch", "neg"], as: ListReply.self).jobs.first)
        XCTAssertEqual(job.state, "failed")
        XCTAssertEqual(job.attempts, 1, "not retried: it cannot succeed")
        XCTAssertTrue(job.error?.contains("seed -5 is negative") ?? false, job.error ?? "")
        XCTAssertEqual(h.ctl(["health"]).status, 0)
    }

    func testControlCharactersAreRefusedOnEveryInputPath() throws {
        let h = try DaemonHarness(test: self)
        try h.start()
        let txt = h.dir + "/nul.txt"
        try Data("fine\nthe blue\u{0}square\n".utf8).write(to: URL(fileURLWithPath: txt))
        let file = h.ctl(["submit", "-f", txt, "--batch", "nul"])
        XCTAssertEqual(file.status, 5)
        XCTAssertTrue(file.stderr.contains("nul.txt:2: prompt contains control character U+0000 NUL at character 9"), file.stderr)
        let jsonl = h.dir + "/esc.jsonl"
        try Data("{\"prompt\": \"ok\"}\n{\"prompt\": \"ok\", \"negative_prompt\": \"a\\u001bb\"}\n".utf8).write(to: URL(fileURLWithPath: jsonl))
        let j = h.ctl(["submit", "-f", jsonl, "--batch", "esc"])
        XCTAssertTrue(j.stderr.contains("esc.jsonl:2: negative_prompt contains control character U+001B ESC at character 2"), j.stderr)
        let arg = h.ctl(["submit", "ok", "ring\u{7}bell", "--batch", "bel"])
        XCTAssertTrue(arg.stderr.contains("argument:2: prompt contains control character U+0007 at character 5"), arg.stderr)
        func stdinCopies() -> Int {
            let tmp = FileManager.default.temporaryDirectory.path
            return ((try? FileManager.default.contentsOfDirectory(atPath: tmp)) ?? []).filter { $0.hasPrefix("mdctl-stdin-") }.count
        }
        let copies = stdinCopies()
        let stdin = h.ctl(["submit", "--batch", "in"], stdin: "ok\n\u{1}start\n")
        XCTAssertTrue(stdin.stderr.contains("stdin:2: prompt contains control character U+0001 at character 1"), stdin.stderr)
        XCTAssertEqual(stdinCopies(), copies, "mdctl removes its copy of standard input")
        XCTAssertEqual(h.ctl(["submit", "ok", "--negative-prompt", "x\u{8}"]).status, 64)
        // Straight to the socket: the daemon refuses too, by job index.
        let raw = try rawSubmit(h, [WireJob(prompt: "ok"), WireJob(prompt: "the blue\u{0}square")])
        XCTAssertEqual(raw?.jobIndex, 1)
        XCTAssertEqual(raw?.jobProblem, "prompt: contains control character U+0000 at character 9; only tab is allowed")
        XCTAssertEqual(try h.json(["status"], as: StatusReply.self).counts.total, 0, "nothing stored")
    }

    /// The README promises `file:line` for every refusal: the daemon's refusals (by job index) are mapped back to
    /// the line, blank lines and chunks counted.
    func testOutOfRangeRecordsNameTheirLineAndThePromptLimitIsStated() throws {
        let h = try DaemonHarness(test: self)
        try h.start()
        let r = try h.submitFile("w.jsonl", "{\"prompt\": \"ok\"}\n\n{\"prompt\": \"x\", \"width\": 0}\n", ["--batch", "w"])
        XCTAssertEqual(r.status, 5)
        XCTAssertTrue(r.stderr.contains("w.jsonl:3: width: 0 outside 8…4096, nothing submitted"), r.stderr)
        let lines = (1...4).map { "{\"prompt\": \"p\($0)\"}" } + ["{\"prompt\": \"x\", \"steps\": 0}"]
        let c = try h.submitFile("s.jsonl", lines.joined(separator: "\n"), ["--batch", "s", "--chunk", "2"])
        XCTAssertTrue(c.stderr.contains("s.jsonl:5: steps: 0 outside 1…50 (the 4 job(s) before its chunk were submitted"), c.stderr)
        let long = h.ctl(["submit", String(repeating: "x", count: 4097)])
        XCTAssertTrue(long.stderr.contains("argument:1: prompt is 4097 bytes of UTF-8; the limit is 4096"), long.stderr)
        XCTAssertEqual(PromptText.maxBytes, JobLimits.maxPromptBytes, "mdctl and the queue state one limit")
    }

    func testByteOrderMarkIsStrippedAndTheImageEqualsTheMarklessPrompts() throws {
        let h = try DaemonHarness(test: self)
        try h.start()
        let file = h.dir + "/bom.txt"
        try Data([0xEF, 0xBB, 0xBF] + Array("a red circle\n".utf8)).write(to: URL(fileURLWithPath: file))
        XCTAssertEqual(h.ctl(["submit", "-f", file, "--batch", "bom", "--seed", "7"]).status, 0)
        XCTAssertEqual(h.ctl(["submit", "a red circle", "--batch", "plain", "--seed", "7"]).status, 0)
        for b in ["bom", "plain"] { XCTAssertEqual(h.ctl(["wait", "--batch", b, "--quiet", "--timeout", "60"]).status, 0) }
        let bom = try XCTUnwrap(try h.json(["ls", "--batch", "bom"], as: ListReply.self).jobs.first)
        let plain = try XCTUnwrap(try h.json(["ls", "--batch", "plain"], as: ListReply.self).jobs.first)
        XCTAssertEqual(Array(bom.prompt.utf8), Array("a red circle".utf8))
        XCTAssertEqual(bom.sha256, plain.sha256, "the same image as the prompt without the mark")
    }

    func testDuplicateJSONKeysAreRefused() throws {
        let h = try DaemonHarness(test: self)
        try h.start()
        let r = try h.submitFile("dup.jsonl", "{\"prompt\":\"a red circle\",\"prompt\":\"a blue square\",\"seed\":1,\"seed\":2}\n", ["--batch", "dup"])
        XCTAssertEqual(r.status, 5)
        XCTAssertTrue(r.stderr.contains("dup.jsonl:1: key 'prompt' appears twice in the object"), r.stderr)
        XCTAssertEqual(try h.json(["status"], as: StatusReply.self).counts.total, 0)
    }
}
