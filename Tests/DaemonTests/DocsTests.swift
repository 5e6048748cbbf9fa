import Foundation
import XCTest

/// The docs name what the programs accept: every config key and flag of `mdd serve` appears in
/// docs/operations.md, every mdctl verb in docs/protocol.md or the README, and the README's first two commands are
/// the demo script and the command CI runs.
final class DocsTests: XCTestCase {
    /// The repository root (this file is Tests/DaemonTests/DocsTests.swift).
    private let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    private func read(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    /// Every capture group's match of `pattern` in `text`.
    private func captures(_ pattern: String, in text: String) throws -> Set<String> {
        let re = try NSRegularExpression(pattern: pattern)
        let ns = text as NSString
        var out = Set<String>()
        for m in re.matches(in: text, range: NSRange(location: 0, length: ns.length)) {
            for g in 1..<m.numberOfRanges where m.range(at: g).location != NSNotFound {
                out.insert(ns.substring(with: m.range(at: g)))
            }
        }
        return out
    }

    func testEveryConfigKeyIsInOperations() throws {
        // The loader reads keys as str("key"), num("key") or json["key"].
        let source = try read("Sources/Daemon/Service/DaemonConfiguration.swift")
        let keys = try captures(#"(?:str|num)\("([a-z_]+)"\)|json\["([a-z_]+)"\]"#, in: source)
        XCTAssertTrue(keys.isSuperset(of: ["state_dir", "workers", "precision", "png_compression"]), "keys found: \(keys.sorted())")
        let ops = try read("docs/operations.md")
        for key in keys.sorted() {
            XCTAssertTrue(ops.contains("`\(key)`"), "docs/operations.md does not document config key \(key)")
        }
    }

    func testEveryServeFlagIsInOperations() throws {
        let h = try DaemonHarness(test: self)
        let help = h.run(h.binDir + "/mdd", ["serve", "--help"], environment: ["COLUMNS": "200"]).stdout
        let flags = try captures(#"(?m)^\s+(--[a-z][a-z-]+)"#, in: help).subtracting(["--help", "--version"])
        XCTAssertTrue(flags.isSuperset(of: ["--state-dir", "--socket", "--precision"]), "flags found: \(flags.sorted())")
        let ops = try read("docs/operations.md")
        for flag in flags.sorted() {
            XCTAssertTrue(ops.contains("`\(flag)"), "docs/operations.md does not document `mdd serve \(flag)`")
        }
    }

    func testEveryMdctlVerbIsDocumented() throws {
        let h = try DaemonHarness(test: self)
        let help = h.run(h.binDir + "/mdctl", ["--help"], environment: ["COLUMNS": "200"]).stdout
        guard let section = help.components(separatedBy: "SUBCOMMANDS:").last else { return XCTFail(help) }
        let verbs = try captures(#"(?m)^  ([a-z][a-z-]*)\b"#, in: section)
        XCTAssertTrue(verbs.isSuperset(of: ["submit", "watch", "status", "export", "retry"]), "verbs found: \(verbs.sorted())")
        let docs = try read("docs/protocol.md") + read("README.md")
        for verb in verbs.sorted() {
            XCTAssertTrue(docs.contains("`\(verb)`") || docs.contains("mdctl \(verb)"),
                          "neither docs/protocol.md nor README.md documents `mdctl \(verb)`")
        }
    }

    func testReadmeStartsWithTheDemoAndTheCICommand() throws {
        let readme = try read("README.md")
        // The first fenced shell block, its commands without comments.
        guard let block = readme.components(separatedBy: "```sh\n").dropFirst().first?.components(separatedBy: "```").first else {
            return XCTFail("README.md has no ```sh block")
        }
        let commands = block.split(separator: "\n").map { $0.split(separator: "#", maxSplits: 1)[0].trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        XCTAssertGreaterThanOrEqual(commands.count, 2, block)
        guard commands.count >= 2 else { return }
        // Neither may need sudo: a fresh Debian as root has none; the scripts ask for it only to install packages.
        XCTAssertEqual(commands[0], "./scripts/demo.sh")
        XCTAssertEqual(commands[1], "./scripts/test.sh")
        for command in commands.prefix(2) {
            XCTAssertTrue(FileManager.default.isExecutableFile(atPath: root.appendingPathComponent(command).path), command)
        }
        let ci = try read(".ci/run")
        XCTAssertTrue(ci.split(separator: "\n").contains { $0.hasSuffix(commands[1]) && !$0.hasPrefix("#") },
                      ".ci/run does not run \(commands[1]):\n\(ci)")
        // The demo renders the sample batch the README's tour submits.
        let demo = try read("scripts/demo.sh")
        XCTAssertTrue(demo.contains("examples/sample-batch.txt") && readme.contains("examples/sample-batch.txt"))
    }
}
