@testable import Daemon
import Engine
import Foundation
import XCTest

/// Choosing the precision: the `precision` config key, `mdd render --from` re-rendering what a PNG records, and
/// `mdd serve --precision auto` settling on one.
final class PrecisionTests: XCTestCase {
    private func config(_ json: String) throws -> DaemonConfiguration {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mdd-precision-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("mdd.json").path
        try Data(json.utf8).write(to: URL(fileURLWithPath: file))
        return try DaemonConfiguration.load(file: file, stateDir: dir.path, socket: dir.path + "/s", model: dir.path)
    }

    func testConfigKeyTakesAutoFP32OrBF16AndRefusesAnythingElse() throws {
        XCTAssertEqual(try config("{}").precision, .auto)
        XCTAssertEqual(try config(#"{"precision": "bf16"}"#).precision, .bf16)
        XCTAssertEqual(try config(#"{"precision": "fp32"}"#).precision, .fp32)
        XCTAssertThrowsError(try config(#"{"precision": "fp16"}"#)) { error in
            XCTAssertTrue("\(error)".contains("'precision' must be \"auto\", \"fp32\" or \"bf16\", got \"fp16\""), "\(error)")
        }
    }

    func testRenderFromAPNGRendersTheSameBytesInTheRecordedPrecision() throws {
        let h = try DaemonHarness(test: self)
        for precision in ["fp32", "bf16"] {
            let first = h.dir + "/first-\(precision).png", again = h.dir + "/again-\(precision).png"
            let r = h.mdd(["render", "--model", h.model, "--prompt", "a red circle", "--seed", "42", "--precision", precision, "--out", first])
            XCTAssertEqual(r.status, 0, r.stderr)
            let re = h.mdd(["render", "--model", h.model, "--from", first, "--out", again])
            XCTAssertEqual(re.status, 0, re.stderr)
            XCTAssertTrue(re.stdout.contains("\(precision), seed 42") && re.stdout.contains("identical"), re.stdout)
            XCTAssertEqual(FileManager.default.contents(atPath: again), FileManager.default.contents(atPath: first))
        }
        let notOurs = h.dir + "/plain.txt"
        try Data("not a png".utf8).write(to: URL(fileURLWithPath: notOurs))
        let bad = h.mdd(["render", "--model", h.model, "--from", notOurs, "--out", h.dir + "/x.png"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("no 'prompt' text chunk"), bad.stderr)
    }

    /// A bf16 image rendered with fp32 Winograd products (`MDD_WINOGRAD_BF16=0`) records it, and `--from` renders it
    /// again the same way in a process without that variable.
    func testRenderFromAPNGKeepsFP32WinogradProducts() throws {
        let h = try DaemonHarness(test: self)
        let first = h.dir + "/wf.png", again = h.dir + "/wf-again.png"
        let r = h.run(h.binDir + "/mdd", ["render", "--model", h.model, "--prompt", "a red circle", "--seed", "42",
                                          "--precision", "bf16", "--out", first], environment: ["MDD_WINOGRAD_BF16": "0"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let png = [UInt8](try XCTUnwrap(FileManager.default.contents(atPath: first)))
        XCTAssertEqual(Dictionary(PNGCodec.textChunks(png), uniquingKeysWith: { a, _ in a })["winograd"], "fp32")
        let re = h.mdd(["render", "--model", h.model, "--from", first, "--out", again])
        XCTAssertEqual(re.status, 0, re.stderr)
        XCTAssertEqual(FileManager.default.contents(atPath: again), FileManager.default.contents(atPath: first))
    }

    func testServeSettlesOnOnePrecisionAndSaysWhy() throws {
        let h = try DaemonHarness(test: self)
        var daemon = try h.start(["--precision", "auto"])
        defer { daemon.terminate(); daemon.waitUntilExit() }
        var log = h.log()
        if OneDNN.nativeBF16 {
            XCTAssertTrue(log.contains("precision auto: ") && log.contains("one image with"), log)
        } else {
            XCTAssertTrue(log.contains("precision auto: fp32") && log.contains("no native bf16"), log)
        }
        // mdctl health reports the precision chosen and oneDNN's instruction set.
        let health = h.ctl(["health", "--json"])
        XCTAssertEqual(health.status, 0, health.stderr)
        let reply = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(health.stdout.utf8)) as? [String: Any])
        let chosen = try XCTUnwrap(reply["precision"] as? String)
        XCTAssertTrue(log.contains("precision auto: \(chosen)"), "health says \(chosen); log: \(log)")
        XCTAssertTrue((reply["onednn"] as? String)?.contains("isa \(OneDNN.isa)") == true, "\(reply)")
        XCTAssertNotNil(reply["products"] as? String)

        // What was measured is kept: a restart renders with the same numerics instead of measuring again.
        let file = try XCTUnwrap(FileManager.default.contents(atPath: h.stateDir + "/engine-choice.json"))
        let kept = try XCTUnwrap(try JSONSerialization.jsonObject(with: file) as? [String: Any])
        let backend = try XCTUnwrap(kept["fp32Backend"] as? String)
        XCTAssertTrue(["openblas", "onednn"].contains(backend), backend)
        XCTAssertTrue(log.contains("fp32 products: \(backend)"), log)
        daemon.terminate()
        daemon.waitUntilExit()
        daemon = try h.start(["--precision", "auto"])
        log = h.log()
        XCTAssertTrue(log.contains("fp32 products: \(backend)") && log.contains("kept from"), log)
        if OneDNN.nativeBF16 {
            XCTAssertEqual(kept["precision"] as? String, chosen)
            XCTAssertTrue(log.contains("precision auto: \(chosen)") && log.contains("delete it to measure again"), log)
        }
    }

    /// The fp32 backend is measured once per machine and kept in the cache folder, so every later process (render,
    /// bench, serve, tests) multiplies with the same library and renders the same bytes.
    func testTheFP32BackendIsMeasuredOncePerMachine() throws {
        let h = try DaemonHarness(test: self)
        let cache = h.dir + "/cache"
        func render(_ name: String) -> DaemonHarness.Result {
            h.run(h.binDir + "/mdd", ["render", "--model", h.model, "--prompt", "a red circle", "--seed", "3", "--out", h.dir + "/\(name).png"],
                  environment: ["MDD_CACHE_DIR": cache, "MDD_FP32_BACKEND": ""])
        }
        let first = render("first"), second = render("second")
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertEqual(FileManager.default.contents(atPath: h.dir + "/first.png"), FileManager.default.contents(atPath: h.dir + "/second.png"))
        if OneDNN.isa.hasPrefix("avx512") {
            XCTAssertTrue(FileManager.default.fileExists(atPath: cache + "/fp32-backend.json"))
            XCTAssertTrue(first.stderr.contains("measured: oneDNN"), first.stderr)
            XCTAssertTrue(second.stderr.contains("kept in \(cache)/fp32-backend.json"), second.stderr)
        } else {
            XCTAssertTrue(second.stderr.contains("not measured (no AVX-512)"), second.stderr)
        }
    }
}
