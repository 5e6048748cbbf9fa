import Foundation
import Synchronization

/// Wall time per kind of operation (conv by path, norms, attention, copies, …) summed over renders, for
/// `mdd bench --profile`: it tells where a render's time goes beyond the GEMM share the stage table prints.
///
/// Off unless `enable()` was called: then each instrumented kernel costs one clock read and a locked dictionary
/// update. Only the outermost measured call on a thread counts, so nested kernels (a Winograd conv's GEMMs) are
/// charged to their caller and the labels add up to at most the render's time; what no label covers is "other".
public enum OpProfile {
    public struct Entry: Sendable {
        public let label: String
        public let seconds: Double
        public let calls: Int
    }

    private final class State: @unchecked Sendable {
        let lock = NSLock()
        /// Read by every instrumented kernel on every render thread, so atomic (a plain flag was a data race).
        let enabled = Atomic<Bool>(false)
        var totals: [String: (seconds: Double, calls: Int)] = [:]
    }

    private static let state = State()
    private static let depthKey = "mdd.engine.opprofile.depth"

    /// Starts recording (from now on, every process-wide render is profiled).
    public static func enable() {
        state.lock.withLock { state.totals = [:] }
        state.enabled.store(true, ordering: .releasing)
    }

    /// Clears what was recorded (after a warm-up render).
    public static func reset() { state.lock.withLock { state.totals = [:] } }

    /// Recorded entries, largest first.
    public static func entries() -> [Entry] {
        state.lock.withLock {
            state.totals.map { Entry(label: $0.key, seconds: $0.value.seconds, calls: $0.value.calls) }
        }.sorted { $0.seconds > $1.seconds }
    }

    /// Runs `body`, charging its wall time to `label` when profiling is on and no outer measured call is running.
    @inline(__always)
    static func measure<R>(_ label: @autoclosure () -> String, _ body: () throws -> R) rethrows -> R {
        guard state.enabled.load(ordering: .acquiring) else { return try body() }
        let thread = Thread.current.threadDictionary
        let depth = thread[depthKey] as? Int ?? 0
        thread[depthKey] = depth + 1
        defer { thread[depthKey] = depth }
        guard depth == 0 else { return try body() }
        let start = DispatchTime.now().uptimeNanoseconds
        defer {
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let key = label()
            state.lock.withLock {
                let old = state.totals[key] ?? (0, 0)
                state.totals[key] = (old.seconds + seconds, old.calls + 1)
            }
        }
        return try body()
    }
}
