import Foundation
import Wire
import Engine
import XCTest

/// `mdd render --prompts FILE --out-dir DIR`: the batch form that the default model's evaluation uses.
final class RenderCommandTests: XCTestCase {
    func testPromptFileRendersWhatSingleRendersWould() throws {
        let h = try DaemonHarness(test: self)
        let file = h.dir + "/prompts.jsonl"
        try """
        {"prompt": "a red circle", "seed": 42}
        {"prompt": "two blue squares"}

        {"prompt": "a green triangle", "seed": 7}
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let out = h.dir + "/images"
        let batch = h.mdd(["render", "--model", h.model, "--prompts", file, "--out-dir", out, "--seed", "100"])
        XCTAssertEqual(batch.status, 0, batch.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out).sorted(), ["000000.png", "000001.png", "000002.png"],
                       "blank lines are skipped, images are numbered by prompt")
        // A line without a seed takes --seed + its index (1 here); the others keep their own.
        for (index, prompt, seed) in [(0, "a red circle", 42), (1, "two blue squares", 101), (2, "a green triangle", 7)] {
            let single = h.dir + "/single-\(index).png"
            let r = h.mdd(["render", "--model", h.model, "--prompt", prompt, "--seed", "\(seed)", "--out", single])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(FileManager.default.contents(atPath: single),
                           FileManager.default.contents(atPath: out + String(format: "/%06d.png", index)), "image \(index)")
        }
    }

    /// The re-render contract across machines: the shipped model's images are byte-identical whether the engine
    /// runs 1, 2 or 3 threads (GEMM blocks depend on shapes only; with one block per thread, 3 threads drew some
    /// of these prompts one level off).
    func testRendersAreByteIdenticalOnAnyThreadCount() throws {
        let h = try DaemonHarness(test: self)
        let model = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../models/shapes-md").standardized.path
        let sample = URL(fileURLWithPath: model).appendingPathComponent("../../examples/sample-batch.txt").standardized.path
        var renders: [Int: [Data?]] = [:]
        for threads in [1, 2, 3] {
            let out = h.dir + "/t\(threads)"
            let r = h.run(h.binDir + "/mdd", ["render", "--model", model, "--prompts", sample, "--out-dir", out, "--seed", "7"],
                          environment: ["OPENBLAS_NUM_THREADS": "\(threads)"])
            XCTAssertEqual(r.status, 0, r.stderr)
            renders[threads] = (0..<16).map { FileManager.default.contents(atPath: out + String(format: "/%06d.png", $0)) }
        }
        XCTAssertTrue(renders[1]!.allSatisfy { $0 != nil }, "16 sample images")
        for threads in [2, 3] {
            for (i, (a, b)) in zip(renders[1]!, renders[threads]!).enumerated() {
                XCTAssertEqual(a, b, "sample image \(i): \(threads) threads differ from 1")
            }
        }
    }

    func testBadLineNamesFileAndLine() throws {
        let h = try DaemonHarness(test: self)
        let file = h.dir + "/bad.jsonl"
        try "{\"prompt\": \"ok\"}\n{\"prompt\": 3}\n".write(toFile: file, atomically: true, encoding: .utf8)
        let r = h.mdd(["render", "--model", h.model, "--prompts", file, "--out-dir", h.dir + "/out"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("bad.jsonl:2:"), r.stderr)
        // A prompt is rendered exactly as given or refused: a NUL used to cut it short in the PNG's text chunk.
        let nul = h.dir + "/nul.txt"
        try Data("ok\nthe blue\u{0}square\n".utf8).write(to: URL(fileURLWithPath: nul))
        let n = h.mdd(["render", "--model", h.model, "--prompts", nul, "--out-dir", h.dir + "/out2"])
        XCTAssertEqual(n.status, 1)
        XCTAssertTrue(n.stderr.contains("nul.txt:2: prompt contains control character U+0000 NUL at character 9"), n.stderr)
        let one = h.mdd(["render", "--model", h.model, "--prompt", "a\u{1B}b", "--out", h.dir + "/one.png"])
        XCTAssertTrue(one.stderr.contains("prompt contains control character U+001B ESC"), one.stderr)
        // Derived seeds (--seed + index) must not wrap past 2^64 − 1, and a line's own seed must not be negative.
        let two = h.dir + "/two.txt"
        try "a red circle\na blue square\n".write(toFile: two, atomically: true, encoding: .utf8)
        let wrap = h.mdd(["render", "--model", h.model, "--prompts", two, "--seed", "\(UInt64.max)", "--out-dir", h.dir + "/out3"])
        XCTAssertEqual(wrap.status, 1)
        XCTAssertTrue(wrap.stderr.contains("two.txt:2: --seed \(UInt64.max) + line index 1 exceeds"), wrap.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: h.dir + "/out3/000001.png"))
        let negative = h.dir + "/negative.jsonl"
        try "{\"prompt\": \"a red circle\", \"seed\": -5}\n".write(toFile: negative, atomically: true, encoding: .utf8)
        let neg = h.mdd(["render", "--model", h.model, "--prompts", negative, "--out-dir", h.dir + "/out4"])
        XCTAssertEqual(neg.status, 1)
        XCTAssertTrue(neg.stderr.contains("negative.jsonl:1:"), neg.stderr)
    }

    func testPromptAndPromptsAreExclusive() throws {
        let h = try DaemonHarness(test: self)
        let r = h.mdd(["render", "--model", h.model, "--prompt", "x", "--prompts", "y.txt", "--out", h.dir + "/x.png"])
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssertTrue(r.stderr.contains("exactly one of --prompt"), r.stderr)
    }
}

/// `mdd tune`: every split of the cores is measured and the recommendation follows the documented rule.
final class TuneCommandTests: XCTestCase {
    func testTuneMeasuresEverySplitAndRecommendsTheFastest() throws {
        let h = try DaemonHarness(test: self)
        let r = h.mdd(["tune", "--model", h.model, "--images", "1", "--cores", "2", "--precision", "fp32", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let doc = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let results = try XCTUnwrap(doc["results"] as? [[String: Any]])
        XCTAssertEqual(results.map { [$0["workers"] as? Int, $0["blasThreads"] as? Int] }, [[1, 2], [2, 1]])
        let rates = results.compactMap { $0["imagesPerSecond"] as? Double }
        XCTAssertEqual(rates.count, 2)
        XCTAssertTrue(rates.allSatisfy { $0 > 0 })
        let chosen = try XCTUnwrap(doc["recommended"] as? [String: Any])
        let chosenRate = try XCTUnwrap(chosen["imagesPerSecond"] as? Double)
        // The fastest, or one with fewer workers within 3 % of it.
        XCTAssertGreaterThanOrEqual(chosenRate, 0.97 * rates.max()!)
        if chosen["workers"] as? Int == 2 { XCTAssertLessThan(rates[0], 0.97 * rates.max()!) }
        // auto: both precisions where bf16 is native, each with every split; fp32 alone elsewhere.
        let both = h.mdd(["tune", "--model", h.model, "--images", "1", "--cores", "2", "--json"])
        XCTAssertEqual(both.status, 0, both.stderr)
        let all = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(both.stdout.utf8)) as? [String: Any])?["results"] as? [[String: Any]])
        let expected = OneDNN.nativeBF16 ? ["fp32", "fp32", "bf16", "bf16"] : ["fp32", "fp32"]
        XCTAssertEqual(all.compactMap { $0["precision"] as? String }, expected)
        let bad = h.mdd(["tune", "--model", h.model, "--images", "0"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--images"), bad.stderr)
    }
}

/// `mdd serve --workers auto`: the split is measured at start-up, logged with its measurements, and served.
final class AutoWorkersTests: XCTestCase {
    func testAutoWorkersMeasuresTheSplitsAndServesWithTheChoice() throws {
        let h = try DaemonHarness(test: self)
        try h.start(["--workers", "auto"])
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let workers = try h.json(["workers"], as: WorkersReply.self).workers.count
        XCTAssertEqual(cores % workers, 0, "\(workers) workers do not divide \(cores) cores")
        let log = h.log()
        XCTAssertTrue(log.contains("workers auto: \(workers) x \(cores / workers) BLAS threads"), log)
        // The tiny fixture renders far under the start-up limit, so every split was measured.
        if cores > 1 { XCTAssertTrue(log.contains("measured"), log) }
        h.ctl(["submit", "--batch", "a", "--seed", "1", "a red circle", "a blue square", "a green triangle"])
        XCTAssertEqual(h.ctl(["wait", "--batch", "a", "--quiet", "--timeout", "60"]).status, 0)

        let bad = h.mdd(["serve", "--workers", "auto", "--blas-threads", "1", "--state-dir", h.dir + "/other"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--blas-threads is chosen by --workers auto"), bad.stderr)
        let nonsense = h.mdd(["serve", "--workers", "many", "--state-dir", h.dir + "/other"])
        XCTAssertTrue(nonsense.stderr.contains("--workers must be a number or \"auto\", got \"many\""), nonsense.stderr)
        let config = h.dir + "/mdd.json"
        try Data(#"{"workers": "auto", "blas_threads": 2}"#.utf8).write(to: URL(fileURLWithPath: config))
        let conflicting = h.mdd(["serve", "--config", config, "--state-dir", h.dir + "/other"])
        XCTAssertNotEqual(conflicting.status, 0)
        XCTAssertTrue(conflicting.stderr.contains("mdd.json: 'blas_threads' is chosen by \"workers\": \"auto\""), conflicting.stderr)
    }

    /// With neither --workers nor --blas-threads, the daemon measures (auto is the default); --blas-threads alone
    /// means one worker with that many threads, unmeasured.
    func testAutoIsTheDefaultUnlessThreadsAreGiven() throws {
        let h = try DaemonHarness(test: self)
        try h.start([], oneWorker: false)
        XCTAssertTrue(h.log().contains("workers auto:"), h.log())
        h.kill(SIGTERM)
        try h.waitForExit(h.process!)
        try h.start(["--blas-threads", "1"], oneWorker: false)  // a fresh log
        XCTAssertFalse(h.log().contains("workers auto:"), "measured although --blas-threads was given: \(h.log())")
        XCTAssertEqual(try h.json(["workers"], as: WorkersReply.self).workers.count, 1)
    }
}
