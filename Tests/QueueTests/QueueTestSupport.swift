import Foundation
import XCTest
@testable import Queue

/// A controllable clock for lease expiry and backoff.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var t: Double = 1_000_000
    var now: Double { lock.lock(); defer { lock.unlock() }; return t }
    func advance(_ s: Double) { lock.lock(); t += s; lock.unlock() }
}

extension XCTestCase {
    func tempDir() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mdd-queue-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    func makeStore(clock: TestClock? = nil, options: JobStore.Options = .init(), path: String? = nil) throws -> JobStore {
        let p = try path ?? tempDir() + "/queue.sqlite"
        if let clock { return try JobStore(path: p, options: options, clock: { clock.now }) }
        return try JobStore(path: p, options: options)
    }

    /// The built product `name` beside the test bundle.
    func productPath(_ name: String) -> String {
        // The resource bundle sits in the build products folder beside the executables.
        Bundle.module.bundleURL.deletingLastPathComponent().appendingPathComponent(name).path
    }

    func output(_ id: Int64) -> JobOutput {
        JobOutput(path: "/o/\(id).png", sha256: String(repeating: "a", count: 64),
                  timings: JobTimings(textMs: 1, unetMs: 2, decodeMs: 3, pngMs: 4, totalMs: 10))
    }

    func prompts(_ n: Int, prefix: String = "p") -> [JobSpec] { (1...n).map { JobSpec(prompt: "\(prefix) \($0)") } }
}
