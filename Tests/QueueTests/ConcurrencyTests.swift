import Foundation
import XCTest
@testable import Queue

/// Several claimers — threads with their own connections, and separate processes — never share a job.
final class ConcurrencyTests: XCTestCase {
    func testThreadsWithSeparateConnectionsCompleteEachJobOnce() throws {
        let dir = try tempDir()
        let path = dir + "/q.sqlite"
        _ = try makeStore(path: path).submit(batch: BatchSpec(name: "b"), jobs: prompts(400))
        let lock = NSLock()
        var done: [Int64] = []
        var errors: [String] = []
        DispatchQueue.concurrentPerform(iterations: 4) { w in
            do {
                let q = try JobStore(path: path)
                var lease = try q.claim(worker: "t\(w)")
                while let l = lease {
                    lease = try q.complete(l, output: output(l.job.id), thenClaimFor: "t\(w)")
                    lock.lock(); done.append(l.job.id); lock.unlock()
                }
            } catch {
                lock.lock(); errors.append("\(error)"); lock.unlock()
            }
        }
        XCTAssertEqual(errors, [])
        XCTAssertEqual(done.count, 400)
        XCTAssertEqual(Set(done).count, 400, "no job claimed twice")
        XCTAssertEqual(try makeStore(path: path).status().counts.succeeded, 400)
    }

    func testSeparateProcessesCompleteEachJobOnce() throws {
        let path = try tempDir() + "/q.sqlite"
        _ = try makeStore(path: path).submit(batch: BatchSpec(name: "b"), jobs: prompts(600))
        let workers = try (0..<3).map { try HelperProcess(productPath("mdd-queue-helper"), ["work", path, "p\($0)"]) }
        let outputs = workers.map { $0.waitForOutput() }
        XCTAssertEqual(workers.map(\.status), [0, 0, 0])
        let ids = outputs.flatMap(HelperProcess.doneIds)
        XCTAssertEqual(ids.count, 600)
        XCTAssertEqual(Set(ids).count, 600, "no job claimed by two processes")
        print("[concurrency] per-process completions: \(outputs.map { HelperProcess.doneIds($0).count })")
    }
}

/// A child process with captured stdout.
final class HelperProcess {
    let process = Process()
    private let pipe = Pipe()
    private var data = Data()
    private let reader = DispatchGroup()

    init(_ path: String, _ args: [String], environment: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = args
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        reader.enter()
        DispatchQueue.global().async {
            self.data = self.pipe.fileHandleForReading.readDataToEndOfFile()
            self.reader.leave()
        }
    }

    func kill() { Foundation.kill(process.processIdentifier, SIGKILL) }

    func waitForOutput() -> String {
        process.waitUntilExit()
        reader.wait()
        return String(decoding: data, as: UTF8.self)
    }

    var status: Int32 { process.terminationStatus }

    /// Whether the process died of SIGKILL (a kill point fired) rather than exiting.
    var killed: Bool { process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL }

    static func doneIds(_ out: String) -> [Int64] {
        out.split(separator: "\n").compactMap { $0.hasPrefix("done ") ? Int64($0.dropFirst(5)) : nil }
    }
}
