import CSHA256
import Foundation

/// FIPS 180-4 SHA-256, used to fingerprint model weights and output PNGs (no crypto dependency needed). Buffering and
/// padding here; the block compression is C (`csha256_blocks`: the SHA extensions when the CPU has them).
public struct SHA256: Sendable {
    private var h: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
    private var pending: [UInt8] = []
    private var length: UInt64 = 0

    public init() {}

    /// Feeds more bytes.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        length &+= UInt64(bytes.count)
        var offset = 0
        if !pending.isEmpty {
            let take = min(64 - pending.count, bytes.count)
            pending += bytes[0..<take]
            offset = take
            if pending.count == 64 { pending.withUnsafeBytes { compress($0.baseAddress!, blocks: 1) }; pending.removeAll() }
        }
        let blocks = (bytes.count - offset) / 64
        if blocks > 0 { compress(bytes.baseAddress! + offset, blocks: blocks); offset += 64 * blocks }
        if offset < bytes.count { pending += bytes[offset...] }
    }

    public mutating func update<D: Collection>(_ bytes: D) where D.Element == UInt8 {
        Array(bytes).withUnsafeBytes { update($0) }
    }

    /// The digest as 32 bytes.
    public mutating func finalize() -> [UInt8] {
        let bits = length &* 8
        var tail: [UInt8] = [0x80]
        while (pending.count + tail.count) % 64 != 56 { tail.append(0) }
        for i in (0..<8).reversed() { tail.append(UInt8(truncatingIfNeeded: bits >> (UInt64(i) * 8))) }
        let saved = length
        update(tail)
        length = saved
        return h.flatMap { v in (0..<4).reversed().map { UInt8(truncatingIfNeeded: v >> (UInt32($0) * 8)) } }
    }

    /// The digest as lower-case hex.
    public mutating func finalizeHex() -> String {
        finalize().map { String(format: "%02x", $0) }.joined()
    }

    private mutating func compress(_ p: UnsafeRawPointer, blocks: Int) {
        h.withUnsafeMutableBufferPointer { csha256_blocks($0.baseAddress!, p.assumingMemoryBound(to: UInt8.self), blocks) }
    }

    /// Lower-case hex digest of `bytes`.
    public static func hex(_ bytes: UnsafeRawBufferPointer) -> String {
        var s = SHA256()
        s.update(bytes)
        return s.finalizeHex()
    }

    public static func hex<D: Collection>(_ bytes: D) -> String where D.Element == UInt8 {
        Array(bytes).withUnsafeBytes { hex($0) }
    }
}
