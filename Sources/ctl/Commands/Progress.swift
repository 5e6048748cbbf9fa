import Foundation
import Wire

/// The live progress display shared by `watch`, `wait` and `submit --wait`.
enum Progress {
    /// Polls status once a second until nothing of the batch (or queue) is left; exits 7 if asked and any job
    /// failed or was canceled.
    static func follow(global: GlobalOptions, batch: String?, exitOnFailure: Bool, quiet: Bool = false, timeout: Double? = nil) throws {
        let client = try global.client()
        let tty = isatty(1) != 0
        let start = Date()
        var lastPrint = Date.distantPast
        while true {
            let s = try GlobalOptions.map { try client.call(.status, StatusRequest(batch: batch), as: StatusReply.self) }
            let c = s.counts
            let done = c.pending + c.running == 0
            if !quiet && !global.json && (tty || done || Date().timeIntervalSince(lastPrint) >= 5) {
                let line = "\(batch ?? "all") \(Format.bar(done: c.settled, total: c.total))  \(Format.count(c.succeeded)) ok, \(Format.count(c.failed)) failed, \(Format.count(c.canceled)) canceled, \(Format.count(c.pending + c.running)) left  \(Format.rate(s.imagesPerMinute))  ETA \(Format.duration(done ? 0 : s.etaSeconds))"
                print(tty ? "\r\u{1B}[2K" + line : line, terminator: tty && !done ? "" : "\n")
                fflush(stdout)
                lastPrint = Date()
            }
            if done {
                if global.json { try global.printJSON(s) }
                if exitOnFailure && c.failed + c.canceled > 0 {
                    throw CtlFailure(.jobsFailed, "\(c.failed) failed, \(c.canceled) canceled")
                }
                return
            }
            if let timeout, Date().timeIntervalSince(start) > timeout { throw CtlFailure(.failure, "timed out after \(Format.duration(timeout))") }
            usleep(tty ? 500_000 : 1_000_000)
        }
    }
}
