import Foundation

/// A one-slot hand-off to a dedicated thread, so that a render worker can settle job N (write its PNG with two
/// fsyncs, record it in the queue with a third) while it renders job N + 1.
///
/// At most one task runs and none waits: `submit` blocks until the previous task has finished, so a worker is never
/// more than one job ahead of its disk and never holds more than two leases (one rendering, one settling). Tasks run
/// in submission order. Crash safety is unchanged: until its task commits, a settling job is still leased to this
/// worker, so a crash hands it back to recovery like a job that was rendering (and a PNG already renamed into place
/// is reused, see `OutputStore.reusable`).
final class SettleThread: @unchecked Sendable {
    private let condition = NSCondition()
    private var pending: (() -> Void)?
    private var running = false
    private var closed = false
    private let exited = DispatchSemaphore(value: 0)

    init(name: String) {
        let t = Thread { [self] in loop(); exited.signal() }
        t.name = name
        t.start()
    }

    /// Queues `task` once the previous one has finished (blocking until then).
    func submit(_ task: @escaping () -> Void) {
        condition.lock()
        defer { condition.unlock() }
        precondition(!closed, "submit after finish")
        while pending != nil || running { condition.wait() }
        pending = task
        condition.broadcast()
    }

    /// Blocks until every submitted task has finished.
    func waitIdle() {
        condition.lock()
        while pending != nil || running { condition.wait() }
        condition.unlock()
    }

    /// Finishes the queued work, then stops the thread and waits for it to exit.
    func finish() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
        exited.wait()
    }

    private func loop() {
        while true {
            condition.lock()
            while pending == nil && !closed { condition.wait() }
            guard let task = pending else {
                condition.unlock()
                return  // closed and drained
            }
            pending = nil
            running = true
            condition.unlock()
            task()
            condition.lock()
            running = false
            condition.broadcast()
            condition.unlock()
        }
    }
}
