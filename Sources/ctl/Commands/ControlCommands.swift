import ArgumentParser
import Foundation
import Wire

/// Target options shared by cancel and retry.
struct TargetOptions: ParsableArguments {
    @Argument(help: "Job id.") var id: Int64?
    @Option(help: "Every job of this batch.") var batch: String?
    @Flag(help: "Every job in the queue.") var all = false

    func validate() throws {
        if [id != nil, batch != nil, all].filter({ $0 }).count != 1 { throw ValidationError("name exactly one of: a job id, --batch NAME, or --all") }
    }

    func request(includeCanceled: Bool = false) -> TargetRequest {
        TargetRequest(id: id, batch: batch, all: all, includeCanceled: includeCanceled)
    }
}

/// `mdctl cancel`: pending and running jobs of a job, a batch or the whole queue.
struct Cancel: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Cancel jobs.", discussion: "Example: mdctl cancel --batch cats")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: TargetOptions

    func run() throws {
        let r = try global.call(.cancel, target.request(), as: CountReply.self)
        global.json ? try global.printJSON(r) : print("canceled \(Format.count(r.count)) job(s)")
    }
}

/// `mdctl retry`: failed jobs (and canceled ones with --canceled) back to pending, same seeds.
struct Retry: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Retry failed jobs.", discussion: "Example: mdctl retry --batch cats --canceled")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: TargetOptions
    @Flag(help: "Retry failed jobs (the default; kept for scripts that say it).") var failed = false
    @Flag(help: "Also retry canceled jobs.") var canceled = false

    func run() throws {
        let r = try global.call(.retry, target.request(includeCanceled: canceled), as: CountReply.self)
        global.json ? try global.printJSON(r) : print("retrying \(Format.count(r.count)) job(s)")
    }
}

/// `mdctl pause [--batch NAME]`.
struct Pause: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Stop claiming jobs (whole queue or one batch).", discussion: "Example: mdctl pause --batch cats")
    @OptionGroup var global: GlobalOptions
    @Option(help: "Only this batch.") var batch: String?

    func run() throws {
        _ = try global.call(.pause, PauseRequest(batch: batch), as: Empty.self)
        if !global.json { print("paused \(batch.map { "batch \($0)" } ?? "queue")") } else { try global.printJSON(["paused": batch ?? "queue"]) }
    }
}

/// `mdctl resume [--batch NAME]`.
struct Resume: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Resume claiming jobs.", discussion: "Example: mdctl resume --batch cats")
    @OptionGroup var global: GlobalOptions
    @Option(help: "Only this batch.") var batch: String?

    func run() throws {
        _ = try global.call(.resume, PauseRequest(batch: batch), as: Empty.self)
        if !global.json { print("resumed \(batch.map { "batch \($0)" } ?? "queue")") } else { try global.printJSON(["resumed": batch ?? "queue"]) }
    }
}

/// `mdctl backup -o FILE`: a consistent copy of the queue database, taken by the running daemon.
struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy the queue database while the daemon runs.",
        discussion: "The daemon writes FILE (which must not exist) with SQLite's online backup API. Restore: stop the daemon, put the copy in place of <state>/queue.sqlite (removing any queue.sqlite-wal and -shm), start it. A PostgreSQL queue is refused: back it up with pg_dump.\n\nExample: mdctl backup -o /var/lib/mdd/backup-2026-12-01.sqlite")
    @OptionGroup var global: GlobalOptions
    @Option(name: [.customShort("o"), .long], help: "The copy to write (a new file; the daemon must be able to write there).") var output: String

    func run() throws {
        let path = output.hasPrefix("/") ? output : FileManager.default.currentDirectoryPath + "/" + output
        let r = try global.call(.backup, BackupRequest(path: path), as: BackupReply.self)
        global.json ? try global.printJSON(r) : print("backed up the queue to \(r.path) (\(Format.count(r.bytes)) bytes)")
    }
}

/// `mdctl shutdown [--drain | --now]`.
struct Shutdown: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Stop the daemon (default: drain running jobs first).", discussion: "Example: mdctl shutdown --now")
    @OptionGroup var global: GlobalOptions
    @Flag(help: "Finish running jobs first (default).") var drain = false
    @Flag(help: "Release running jobs back to the queue and stop now.") var now = false

    func run() throws {
        _ = try global.call(.shutdown, ShutdownRequest(drain: !now), as: Empty.self)
        if !global.json { print(now ? "stopping now" : "draining and stopping") }
    }
}

/// `mdctl watch`: live progress bar with rate, ETA and failures until the batch (or queue) is done.
struct Watch: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Follow progress live.", discussion: "Example: mdctl watch --batch cats")
    @OptionGroup var global: GlobalOptions
    @Option(help: "Only this batch.") var batch: String?

    func run() throws { try Progress.follow(global: global, batch: batch, exitOnFailure: false) }
}

/// `mdctl wait`: block until the batch is finished; exit 7 if any job failed or was canceled.
struct Wait: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Wait until a batch finishes (non-zero exit if any job failed).", discussion: "Example: mdctl wait --batch cats --timeout 3600")
    @OptionGroup var global: GlobalOptions
    @Option(help: "The batch to wait for (default: the whole queue).") var batch: String?
    @Option(help: "Give up after this many seconds.") var timeout: Double?
    @Flag(help: "No progress output.") var quiet = false

    func run() throws { try Progress.follow(global: global, batch: batch, exitOnFailure: true, quiet: quiet, timeout: timeout) }
}
