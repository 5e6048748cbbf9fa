import Foundation
import PostgresTestServer
import Queue
import XCTest

/// N real `mdd serve` daemons on one database of the test's PostgreSQL server and one shared output folder,
/// rendering with the shipped tiny model (models/shapes-md), and the end-of-test check every fleet test shares:
/// every job succeeded once and every recorded file has the recorded SHA-256.
final class Fleet {
    let server: TestPostgres
    /// The queue URL the daemons use (by default the server's Unix socket; the partition test passes a TCP one).
    let url: String
    let nodes: [DaemonHarness]
    let names: [String]
    /// The output folder every node writes into.
    let shared: String

    /// The test server, or a skip that prints the SKIP line the scripts grep for.
    static func server(for test: XCTestCase) throws -> TestPostgres {
        switch TestPostgres.shared {
        case .success(let s): return s
        case .failure(let why):
            print("SKIP (no PostgreSQL server): \(test.name): \(why)")
            throw XCTSkip("no PostgreSQL server: \(why)")
        }
    }

    static let shapesModel = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../models/shapes-md").standardized.path

    /// A fresh database and `count` harnesses (nothing started yet). `url` maps the database's socket URL to the one
    /// the daemons should use.
    init(test: XCTestCase, count: Int, url map: (String) -> String = { $0 }) throws {
        server = try Self.server(for: test)
        url = map(try server.createDatabase())
        nodes = try (0..<count).map { _ in try DaemonHarness(test: test, model: Self.shapesModel) }
        names = (0..<count).map { "node-\(Character(UnicodeScalar(UInt8(97 + $0))))" }
        shared = nodes[0].dir + "/shared-outputs"
    }

    /// Starts node `i` (debug log: the crash checks count PNG writes in it), on `queue` if given (a node in a
    /// network namespace reaches the server by another address) and through `launcher` (see `DaemonHarness.start`).
    @discardableResult
    func start(_ i: Int, _ extra: [String] = [], environment: [String: String] = [:], queue: String? = nil, launcher: [String] = []) throws -> Process {
        // One BLAS thread each: several daemons share the test machine's cores, and OpenBLAS threads spin. One
        // precision for all unless a test says otherwise: `auto` measures at each start, and nodes that chose
        // differently would not reuse each other's PNGs after a crash (they adopt them instead), which the crash
        // test counts.
        let precision = extra.contains("--precision") ? [] : ["--precision", "fp32"]
        return try nodes[i].start(["--queue", queue ?? url, "--output-dir", shared, "--node", names[i], "--log-level", "debug",
                            "--blas-threads", "1"] + precision + extra,
                           environment: environment, launcher: launcher)
    }

    /// A store of the test's own on the fleet's database.
    func store() throws -> PostgresJobStore { try PostgresJobStore(url: url) }

    /// Every daemon's log, oldest first per node.
    var logs: String { nodes.map { $0.allLogs() }.joined(separator: "\n") }

    /// Waits until `batch` has `n` jobs in a final state, failing with the nodes' logs after `timeout` seconds.
    func waitFinished(_ batch: String, _ n: Int, timeout: Double = 60) throws {
        let store = try store()
        do {
            try waitUntil(timeout: timeout, "\(n) finished jobs in \(batch)") {
                let c = try store.status().counts
                return c.succeeded + c.failed + c.canceled == n
            }
        } catch {
            throw HarnessError("\(error): \((try? store.status().counts).map { "\($0)" } ?? "?")\n\(logs.suffix(3000))")
        }
    }

    /// The batch's jobs after checking that all `n` succeeded, each attempted once, with one file each in the shared
    /// folder whose SHA-256 is the one recorded and exported (through node `exportVia`'s socket).
    @discardableResult
    func assertIntact(_ batch: String, _ n: Int, exportVia: Int = 0, file: StaticString = #filePath, line: UInt = #line) throws -> [Job] {
        let jobs = try store().list(JobFilter(batch: batch, limit: n + 10))
        XCTAssertEqual(jobs.count, n, file: file, line: line)
        XCTAssertEqual(jobs.filter { $0.state != .succeeded }.map(\.id), [], "every job succeeded", file: file, line: line)
        XCTAssertEqual(jobs.filter { $0.attempts != 1 }.map(\.id), [], "every interrupted attempt was refunded", file: file, line: line)
        for j in jobs {
            let data = FileManager.default.contents(atPath: j.outputPath ?? "")
            XCTAssertEqual(data.map(SHA256Hex.of), j.outputSHA256, "job \(j.id): the file at \(j.outputPath ?? "nil")", file: file, line: line)
        }
        let rows = nodes[exportVia].ctl(["export", "--batch", batch, "--format", "jsonl"]).stdout.split(separator: "\n")
        XCTAssertEqual(rows.count, n, "export rows", file: file, line: line)
        let recorded = Dictionary(jobs.map { ($0.outputPath ?? "", $0.outputSHA256 ?? "") }, uniquingKeysWith: { a, _ in a })
        for row in rows {
            let o = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(row.utf8)) as? [String: Any], file: file, line: line)
            let path = o["path"] as? String ?? ""
            XCTAssertEqual(recorded[path], o["sha256"] as? String, "export row \(path)", file: file, line: line)
        }
        let all = (try? FileManager.default.contentsOfDirectory(atPath: shared + "/" + batch)) ?? []
        XCTAssertEqual(all.filter { $0.hasSuffix(".png") }.count, n, "one file per job in the shared folder", file: file, line: line)
        return jobs
    }
}
