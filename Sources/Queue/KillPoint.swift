import Foundation

/// Deterministic crash points for the crash tests: with `MDD_KILL_AT=NAME:N` in the environment, the process
/// SIGKILLs itself the N-th time it reaches the point NAME (no exit handlers, no buffered output: a crash at
/// exactly that moment). Without the variable, reaching a point costs one check of a constant.
///
/// Points: `submit-chunk` (a submit chunk committed), `claim` (a claim committed), `complete` (a completion
/// committed, with the next claim when combined), and in the daemon `rendered` (a PNG rendered in memory, nothing
/// written yet), `png-renamed` (a PNG is durable at its final path, its completion not yet committed) and
/// `render-failed` (a render failed, its failure not yet recorded).
///
/// `MDD_STOP_AT=NAME:N` stops the process instead (SIGSTOP) at that moment, for tests that must act while a node
/// is frozen at a known point (the partition test cuts a node's link there) and then let it go on with SIGCONT.
public enum KillPoint {
    private static func parse(_ variable: String) -> (name: String, count: Int)? {
        guard let spec = ProcessInfo.processInfo.environment[variable] else { return nil }
        let parts = spec.split(separator: ":")
        guard parts.count == 2, let n = Int(parts[1]), n >= 1 else { return nil }
        return (String(parts[0]), n)
    }

    private static let killTarget = parse("MDD_KILL_AT")
    private static let stopTarget = parse("MDD_STOP_AT")

    private static let lock = NSLock()
    nonisolated(unsafe) private static var seen: [String: Int] = [:]

    /// Marks that the point `name` was reached; kills (or stops) the process if it is the chosen one.
    public static func reached(_ name: String) {
        guard killTarget?.name == name || stopTarget?.name == name else { return }
        let n = lock.withLock { () -> Int in
            seen[name, default: 0] += 1
            return seen[name, default: 0]
        }
        if let k = killTarget, k.name == name, n == k.count { kill(getpid(), SIGKILL) }
        // The stop is sent to this thread, not the process: a process-directed SIGSTOP is taken by whichever thread
        // the kernel wakes for it (often the main thread), and until that thread runs and stops the others, this one
        // goes on past the point — the partition test once saw a node publish its PNG after "stopping" before it.
        // Sent to the caller, the signal is taken on the return from this very call, so nothing after it runs.
        // (SIGKILL needs no such care: the kernel marks every thread of the process as it is sent.)
        if let s = stopTarget, s.name == name, n == s.count { pthread_kill(pthread_self(), SIGSTOP) }
    }
}
