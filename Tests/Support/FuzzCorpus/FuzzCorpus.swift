import Foundation
import XCTest

/// The committed fuzz corpora (`fuzz/corpus/<target>/`, seeds from `fuzz/corpus/make_seeds.py` plus inputs libFuzzer
/// found, see `scripts/fuzz.sh`), read by path: they live outside the test bundles, shared with `fuzz/`. Both test
/// targets' `FuzzReplayTests` replay them.
public enum FuzzCorpus {
    /// `fuzz/corpus/<target>/*`, sorted by name.
    public static func load(_ target: String) throws -> [(name: String, data: Data)] {
        // This file is Tests/Support/FuzzCorpus/FuzzCorpus.swift: four levels below the repository root.
        let root = URL(fileURLWithPath: "\(#filePath)").deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("fuzz/corpus/\(target)")
        let names = try FileManager.default.contentsOfDirectory(atPath: root.path).sorted()
        XCTAssertGreaterThan(names.count, 10, "corpus \(target) is (nearly) empty")
        return try names.map { ($0, try Data(contentsOf: root.appendingPathComponent($0))) }
    }
}
