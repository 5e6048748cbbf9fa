@testable import Engine
import Foundation
import XCTest

/// Engines made with `init(sharingWeightsOf:)` (the daemon's workers) render at the same time over one copy of
/// the weights and give the same bytes as the loading engine rendering alone.
final class SharedWeightsTests: XCTestCase {
    func testEnginesSharingWeightsRenderConcurrentlyAndIdentically() throws {
        let first = try TextToImage(folder: Fixtures.path("models/md8-tiny"))
        let second = TextToImage(sharingWeightsOf: first)
        XCTAssertTrue(first.unet === second.unet && first.textEncoder === second.textEncoder && first.embeddings === second.embeddings)
        XCTAssertEqual(first.weightsSHA256, second.weightsSHA256)
        let requests = (0..<6).map { RenderRequest(prompt: "a shape number \($0 % 3)", seed: UInt64(40 + $0), steps: 1) }
        let alone = try requests.map { try first.render($0).png }

        let results = Results(count: requests.count)
        let group = DispatchGroup()
        for (w, engine) in [first, second].enumerated() {
            group.enter()
            Thread {
                defer { group.leave() }
                for i in stride(from: w, to: requests.count, by: 2) {
                    results.set(i, Result { try engine.render(requests[i]).png })
                }
            }.start()
        }
        group.wait()
        for i in requests.indices { XCTAssertEqual(try results.get(i).get(), alone[i], "request \(i)") }
    }
}

/// Per-request outcomes written by the rendering threads.
private final class Results: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Result<[UInt8], Error>?]
    init(count: Int) { values = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: Result<[UInt8], Error>) { lock.withLock { values[i] = r } }
    func get(_ i: Int) throws -> Result<[UInt8], Error> { try XCTUnwrap(lock.withLock { values[i] }) }
}
