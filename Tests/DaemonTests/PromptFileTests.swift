import Foundation
import XCTest
@testable import Wire

/// Prompt files are read exactly: a byte-order mark is not part of the first prompt, duplicate JSON keys are
/// refused, and every error names the file and line.
final class PromptFileTests: XCTestCase {
    private func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mdd-pf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    private func jobs(_ text: String, _ name: String, bom: Bool = false) throws -> [(Int, WireJob)] {
        let path = try write((bom ? [0xEF, 0xBB, 0xBF] : []) + Array(text.utf8), name)
        var out: [(Int, WireJob)] = []
        try PromptFile(path: path).forEach { out.append(($0, $1)) }
        return out
    }

    private func parseError(_ text: String, _ name: String) -> PromptFile.ParseError? {
        do { _ = try jobs(text, name) } catch let e as PromptFile.ParseError { return e } catch { return nil }
        return nil
    }

    func testLeadingByteOrderMarkIsStrippedInEveryFormat() throws {
        XCTAssertEqual(try jobs("a red circle\nb\n", "p.txt", bom: true).map(\.1.prompt), ["a red circle", "b"])
        // In a CSV the mark used to make the header check fail ("found [\"\u{FEFF}prompt\", \"seed\"]").
        let csv = try jobs("prompt,seed\na blue square,3\n", "p.csv", bom: true)
        XCTAssertEqual(csv.map(\.1.prompt), ["a blue square"])
        XCTAssertEqual(csv.first?.1.seed, 3)
        XCTAssertEqual(try jobs("{\"prompt\": \"a green star\"}\n", "p.jsonl", bom: true).map(\.1.prompt), ["a green star"])
        // Only a leading mark: one inside a line is the user's text (and stays).
        XCTAssertEqual(try jobs("a\n\u{FEFF}b\n", "q.txt").map(\.1.prompt), ["a", "\u{FEFF}b"])
    }

    func testDuplicateJSONKeysAreRefusedWithTheLine() {
        let e = parseError("{\"prompt\": \"ok\"}\n{\"prompt\":\"a red circle\",\"prompt\":\"a blue square\",\"seed\":1,\"seed\":2}\n", "d.jsonl")
        XCTAssertEqual(e?.description, "\(e?.file ?? ""):2: key 'prompt' appears twice in the object")
        // Keys compare decoded: an escaped spelling is the same key.
        XCTAssertEqual(parseError("{\"seed\": 1, \"se\\u0065d\": 2, \"prompt\": \"x\"}\n", "e.jsonl")?.message, "key 'seed' appears twice in the object")
        XCTAssertNil(JSONObjectKeys.firstDuplicate(in: "{\"prompt\": \"a, \\\"prompt\\\": b\", \"k\": [{\"prompt\": 1}, {\"prompt\": 2}]}"),
                     "keys inside strings and nested values are not top-level keys")
    }

    func testControlCharactersAreDescribedWithTheirPosition() {
        XCTAssertEqual(PromptText.problem("the blue\u{0}square"), "prompt contains control character U+0000 NUL at character 9; only tab is allowed")
        XCTAssertEqual(PromptText.problem("a\u{1B}[31m", field: "negative_prompt"), "negative_prompt contains control character U+001B ESC at character 2; only tab is allowed")
        XCTAssertNil(PromptText.problem("a\tb"))
        XCTAssertEqual(PromptText.problem(String(repeating: "é", count: 2049)), "prompt is 4098 bytes of UTF-8; the limit is 4096")
    }
}
