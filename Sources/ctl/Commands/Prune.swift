import ArgumentParser
import Foundation
import Wire

/// `mdctl prune`: deletes the rows of finished jobs (succeeded, failed, canceled) of a batch and/or finished before
/// some time ago, so a long-lived queue does not grow without bound. Output files are left alone.
struct Prune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Delete finished jobs' rows (their PNG files stay).",
        discussion: """
            Removes succeeded, failed and canceled jobs, never pending or running ones; status counts drop with them. \
            PNG files are NOT deleted (remove them from the output folder yourself), and pruned jobs leave `export` \
            manifests, so export first what you keep. Resubmitting a file to a pruned batch enqueues its pruned lines \
            again. With --finished-before, nodes whose last heartbeat is older are also dropped from `mdctl workers`. On a \
            PostgreSQL queue this prunes the whole cluster's jobs.

            Examples: mdctl prune --batch cats --dry-run
                      mdctl prune --finished-before 7d
            """)
    @OptionGroup var global: GlobalOptions
    @Option(help: "Only this batch's finished jobs.") var batch: String?
    @Option(name: .customLong("finished-before"), help: ArgumentHelp("Only jobs finished longer ago than this (e.g. 90s, 30m, 12h, 7d, 2w).", valueName: "DURATION"))
    var finishedBefore: String?
    @Flag(name: .customLong("dry-run"), help: "Count what would be removed; remove nothing.") var dryRun = false

    func validate() throws {
        if batch == nil && finishedBefore == nil {
            throw ValidationError("name what to prune: --batch NAME, --finished-before DURATION, or both")
        }
        if let finishedBefore { _ = try Self.seconds(finishedBefore) }
    }

    func run() throws {
        let seconds = try finishedBefore.map(Self.seconds)
        let r = try global.call(.prune, PruneRequest(batch: batch, finishedBeforeSeconds: seconds, dryRun: dryRun), as: PruneReply.self)
        if global.json { return try global.printJSON(r) }
        let nodes = r.nodesRemoved.map { ", \($0) node(s) silent for as long" } ?? ""
        print(r.dryRun ? "would remove \(Format.count(r.removed)) finished job(s)\(nodes) (dry run)"
                       : "removed \(Format.count(r.removed)) finished job(s)\(nodes); their PNG files stay")
    }

    /// Seconds in a duration such as `90s`, `30m`, `12h`, `7d` or `2w` (a whole or decimal number and one unit).
    static func seconds(_ text: String) throws -> Double {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800]
        guard let unit = text.last, let scale = units[unit], let n = Double(text.dropLast()), n >= 0, n.isFinite else {
            throw ValidationError("--finished-before '\(text)' is not a duration; write a number and a unit: 90s, 30m, 12h, 7d or 2w")
        }
        return n * scale
    }
}
