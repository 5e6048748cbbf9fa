@testable import Daemon
import Foundation
import Queue
import XCTest

/// Job numbering in a batch: exact when waited for; a page deep in a big batch gets it on a later load.
final class BatchOrdinalsTests: XCTestCase {
    func testPositionsInTheBatchAndBackgroundListing() throws {
        let dir = NSTemporaryDirectory() + "mdd-ordinals-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        let store = try JobStore(path: dir + "/queue.sqlite")
        _ = try store.submit(batch: BatchSpec(name: "other"), jobs: (0..<3).map { JobSpec(prompt: "o\($0)") }, startIndex: 0)
        let n = BatchOrdinals.pageBudget + 2 * BatchOrdinals.chunk
        _ = try store.submit(batch: BatchSpec(name: "big"), jobs: (0..<n).map { JobSpec(prompt: "b\($0)") }, startIndex: 0)
        _ = try store.submit(batch: BatchSpec(name: "other"), jobs: [JobSpec(prompt: "late")], startIndex: 3)

        let ordinals = BatchOrdinals()
        let other = try store.list(JobFilter(batch: "other"))
        XCTAssertEqual(try ordinals.indexes(of: other, batch: "other", store: store).sorted { $0.key < $1.key }.map(\.value), [0, 1, 2, 3],
                       "ids interleaved with another batch still number 0, 1, 2, 3")

        let last = try XCTUnwrap(try store.list(JobFilter(batch: "big", afterId: Int64(n), limit: 10)).last)
        let first = try XCTUnwrap(try store.list(JobFilter(batch: "big", limit: 1)).first)
        XCTAssertEqual(try ordinals.indexes(of: [first], batch: "big", store: store, wait: false)[first.id], 0, "the first page is numbered at once")
        _ = try ordinals.indexes(of: [last], batch: "big", store: store, wait: false)  // deep: listed in the background
        try waitUntil(timeout: 60, "the background listing") {
            try ordinals.indexes(of: [last], batch: "big", store: store, wait: false)[last.id] != nil
        }
        XCTAssertEqual(try ordinals.indexes(of: [last], batch: "big", store: store)[last.id], n - 1)
    }
}
