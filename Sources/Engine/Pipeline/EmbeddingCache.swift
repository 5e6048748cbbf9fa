import Foundation

/// Least-recently-used cache of text-encoder outputs keyed by token ids and precision: batches often repeat a
/// prompt with many seeds, and the daemon then skips the text encoder. Each entry is one prompt's context
/// [1, L, D], always computed alone (batch 1), so a hit returns exactly the bytes a miss would compute.
public final class EmbeddingCache: @unchecked Sendable {
    public struct Stats: Sendable, Equatable { public var hits = 0, misses = 0, entries = 0, bytes = 0 }

    /// Token ids and the precision they were encoded in (a bf16 context differs from the fp32 one).
    private struct Key: Hashable { let ids: [Int32], precision: Precision }
    private var entries: [Key: (tensor: Tensor, lastUse: UInt64)] = [:]
    private var clock: UInt64 = 0
    private var bytes = 0
    private var hits = 0, misses = 0
    private let lock = NSLock()
    /// Upper bound on the cached floats' bytes; 0 disables the cache.
    public let capacityBytes: Int

    public init(capacityBytes: Int = 64 << 20) { self.capacityBytes = capacityBytes }

    public var stats: Stats {
        lock.withLock { Stats(hits: hits, misses: misses, entries: entries.count, bytes: bytes) }
    }

    /// The cached context for `ids` encoded in `precision`, or `compute()`'s result, stored for next time.
    public func context(for ids: [Int32], precision: Precision = .fp32, compute: () throws -> Tensor) rethrows -> Tensor {
        let key = Key(ids: ids, precision: precision)
        if let t = lookup(key) { return t }
        let t = try compute()
        insert(key, t)
        return t
    }

    private func lookup(_ ids: Key) -> Tensor? {
        lock.withLock {
            clock += 1
            guard let e = entries[ids] else { misses += 1; return nil }
            hits += 1
            entries[ids] = (e.tensor, clock)
            return e.tensor
        }
    }

    private func insert(_ ids: Key, _ t: Tensor) {
        let size = t.count * MemoryLayout<Float>.size
        guard size <= capacityBytes else { return }
        lock.withLock {
            if entries[ids] != nil { return }
            // Evict least recently used entries until the new one fits (a linear scan: entries are few and
            // eviction is rare next to a text-encoder call).
            while bytes + size > capacityBytes, let oldest = entries.min(by: { $0.value.lastUse < $1.value.lastUse }) {
                bytes -= oldest.value.tensor.count * MemoryLayout<Float>.size
                entries[oldest.key] = nil
            }
            clock += 1
            entries[ids] = (t, clock)
            bytes += size
        }
    }
}
