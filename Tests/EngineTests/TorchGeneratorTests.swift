import XCTest
@testable import Engine

final class TorchGeneratorTests: XCTestCase {
    func testKnownSeed42Prefix() {
        var g = TorchGenerator(seed: 42)
        let x = g.randn([1, 4, 64, 64])
        let expected: [Float] = [1.9269153, 1.4872841, 0.9007172, -2.1055210, 0.6784185, -1.2345449, -0.0430675, -1.6046669]
        for (a, b) in zip(x.data.prefix(8), expected) { XCTAssertEqual(a, b, accuracy: 1e-6) }
    }

    func testMatchesTorchRandnForEveryFixtureShape() throws {
        let cases = try Fixtures.json("randn_cases.json")["cases"] as! [[String: Any]]
        for c in cases {
            let seed = (c["seed"] as! NSNumber).uint64Value, shape = c["shape"] as! [Int]
            var g = TorchGenerator(seed: seed)
            let x = g.randn(shape)
            let head = (c["head"] as! [Double]).map(Float.init), tail = (c["tail"] as! [Double]).map(Float.init)
            var maxDiff: Float = 0
            for (a, b) in zip(x.data.prefix(head.count), head) { maxDiff = max(maxDiff, abs(a - b)) }
            for (a, b) in zip(x.data.suffix(tail.count), tail) { maxDiff = max(maxDiff, abs(a - b)) }
            print("[randn] seed \(seed) shape \(shape): max|diff| = \(maxDiff)")
            XCTAssertLessThanOrEqual(maxDiff, 1e-6, "seed \(seed) shape \(shape)")
            let sum = x.data.reduce(0.0) { $0 + Double($1) }
            XCTAssertEqual(sum, c["sum"] as! Double, accuracy: 1e-4 * Double(x.count))
        }
    }

    func testSequenceOfDrawsSharesTheGeneratorAndNormalCache() throws {
        let seq = try Fixtures.json("randn_cases.json")["sequence"] as! [String: Any]
        var g = TorchGenerator(seed: (seq["seed"] as! NSNumber).uint64Value)
        for (shape, values) in zip(seq["shapes"] as! [[Int]], seq["values"] as! [[Double]]) {
            let x = g.randn(shape)
            for (a, b) in zip(x.data, values) { XCTAssertEqual(a, Float(b), accuracy: 1e-6, "shape \(shape)") }
        }
    }
}
