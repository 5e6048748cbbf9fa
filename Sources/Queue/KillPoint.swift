import Foundation

/// Deterministic crash points for the crash tests: with `MDD_KILL_AT=NAME:N` in the environment, the process
/// SIGKILLs itself the N-th time it reaches the point NAME (no exit handlers, no buffered output: a crash at
/// exactly that moment). Without the variable, reaching a point costs one check of a constant.
///
/// Points: `submit-chunk` (a submit chunk committed), `claim` (a claim committed), `complete` (a completion
/// committed, with the next claim when combined), and in the daemon `png-renamed` (a PNG is durable at its final
/// path, its completion not yet committed).
public enum KillPoint {
    private static let target: (name: String, count: Int)? = {
        guard let spec = ProcessInfo.processInfo.environment["MDD_KILL_AT"] else { return nil }
        let parts = spec.split(separator: ":")
        guard parts.count == 2, let n = Int(parts[1]), n >= 1 else { return nil }
        return (String(parts[0]), n)
    }()

    private static let lock = NSLock()
    nonisolated(unsafe) private static var seen = 0

    /// Marks that the point `name` was reached; kills the process if it is the chosen one.
    public static func reached(_ name: String) {
        guard let target, target.name == name else { return }
        let n = lock.withLock { () -> Int in
            seen += 1
            return seen
        }
        if n == target.count { kill(getpid(), SIGKILL) }
    }
}
