import Foundation

/// Stops a render in flight from another thread. The pipeline asks between its stages, between denoising steps
/// and between UNet and decoder blocks, so a canceled render ends within one block's time (milliseconds) instead
/// of finishing an image no one will keep: the daemon cancels when a job is canceled or its lease is lost
/// mid-render. Asking costs one uncontended lock, a few hundred times per image.
public final class RenderCancellation: @unchecked Sendable {
    private let lock = NSLock()
    private var canceled = false
    private var reason = ""

    public init() {}

    /// Asks the render to stop at its next check; `reason` ends up in the `EngineError.canceled` it throws.
    /// Later calls keep the first reason.
    public func cancel(reason: String) {
        lock.withLock {
            guard !canceled else { return }
            canceled = true
            self.reason = reason
        }
    }

    /// Whether `cancel(reason:)` was called.
    public var isCanceled: Bool { lock.withLock { canceled } }

    /// Throws `EngineError.canceled` naming the reason and `stage` (where the render stopped) once canceled.
    public func check(at stage: @autoclosure () -> String) throws {
        let why: String? = lock.withLock { canceled ? reason : nil }
        if let why { throw EngineError.canceled(reason: why, stage: stage()) }
    }
}
