@testable import Daemon
import Engine
import Foundation
import Queue
import XCTest

/// Reusing a PNG a crash left between its rename and the completing commit: only a file of this very job.
final class OutputStoreTests: XCTestCase {
    private func job(_ dir: String, negative: String?) throws -> Job {
        let store = try JobStore(path: dir + "/queue-\(UUID().uuidString).sqlite")
        _ = try store.submit(batch: BatchSpec(name: "b"), jobs: [JobSpec(prompt: "a red circle", negativePrompt: negative, seed: 3)])
        return try XCTUnwrap(try store.claim(worker: "w")).job
    }

    func testOnlyAFileOfThisVeryJobIsReused() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mdd-os-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        let engine = try TextToImage(folder: DaemonHarness.fixtureModel("md8-tiny"))
        let output = OutputStore(root: dir + "/outputs")
        let blurred = try job(dir, negative: "blur")
        let request = RenderRequest(prompt: blurred.prompt, negativePrompt: blurred.negativePrompt, seed: 3, steps: 1, guidance: 0)
        let (width, height) = try engine.validate(request)
        let image = try engine.render(request)
        _ = try output.write(image.png, for: blurred)
        XCTAssertEqual(output.reusable(for: blurred, engine: engine, width: width, height: height), image.png)
        // A recreated queue: job ids restart, so another job (same prompt and seed, no negative prompt) has the path.
        let plain = try job(dir, negative: nil)
        XCTAssertEqual(output.path(for: plain), output.path(for: blurred))
        XCTAssertNil(output.reusable(for: plain, engine: engine, width: width, height: height), "negative prompt differs")
        // The same job, written by another engine version.
        let other = image.metadata.map { $0.0 == "engine" ? ($0.0, "mdd-engine 0.0.1") : $0 }
        _ = try output.write(try PNGCodec.encode(rgb: image.rgb, width: width, height: height, text: other), for: blurred)
        XCTAssertNil(output.reusable(for: blurred, engine: engine, width: width, height: height), "engine version differs")
    }

    /// `publish` never replaces a render of the job that is at the path, whatever engine made it (a late node's bytes
    /// are discarded and the file there adopted), and replaces only a file that is not a render of this job.
    func testPublishKeepsTheFirstRenderAndReplacesOnlyAStaleFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mdd-os-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        let engine = try TextToImage(folder: DaemonHarness.fixtureModel("md8-tiny"))
        let output = OutputStore(root: dir + "/outputs")
        let j = try job(dir, negative: nil)
        let request = RenderRequest(prompt: j.prompt, negativePrompt: nil, seed: 3, steps: 1, guidance: 0)
        let (width, height) = try engine.validate(request)
        let first = try engine.render(request).png
        let existing = { output.anyRender(of: j, width: width, height: height) }
        guard case .written(let path, let sha) = try output.publish(first, for: j, tag: "node-a", existing: existing) else {
            return XCTFail("the first writer writes")
        }
        // A second node's bytes for the same job (different bytes: what another CPU could render).
        let late = first + [0]
        guard case .adopted(path, sha) = try output.publish(late, for: j, tag: "node-b", existing: existing) else {
            return XCTFail("the second writer adopts the file that is there")
        }
        XCTAssertEqual(FileManager.default.contents(atPath: path).map { [UInt8]($0) }, first, "the file was not replaced")
        // A render of the job by another engine version (or precision, or model build) is kept too: in a fleet any
        // node's render may be the one recorded.
        let image = try engine.render(request)
        let otherEngine = try PNGCodec.encode(rgb: image.rgb, width: width, height: height,
                                              text: image.metadata.map { $0.0 == "engine" ? ($0.0, "mdd-engine 0.0.1") : $0 })
        try AtomicFile.write(otherEngine, to: path)
        guard case .adopted(path, SHA256.hex(otherEngine)) = try output.publish(first, for: j, tag: "node-a", existing: existing) else {
            return XCTFail("another engine's render of the job is adopted")
        }
        // A file that is no render of this job (another job's prompt, left before the queue was recreated) is replaced.
        let stale = try PNGCodec.encode(rgb: image.rgb, width: width, height: height,
                                        text: image.metadata.map { $0.0 == "prompt" ? ($0.0, "another job") : $0 })
        try AtomicFile.write(stale, to: path)
        guard case .replaced(path, _, let reason) = try output.publish(first, for: j, tag: "node-a", existing: existing) else {
            return XCTFail("a stale file is replaced")
        }
        XCTAssertEqual(reason, "its 'prompt' is 'another job', the job's '\(j.prompt)'", "the log says why it was replaced")
        XCTAssertEqual(FileManager.default.contents(atPath: path).map { [UInt8]($0) }, first)
        let left = try FileManager.default.contentsOfDirectory(atPath: (path as NSString).deletingLastPathComponent)
        XCTAssertEqual(left.filter { $0.hasSuffix(".tmp") }, [], "no temp files left")
    }
}
