import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Who is at the other end of a control connection (SO_PEERCRED).
struct PeerCredentials: Sendable, Equatable, CustomStringConvertible {
    var pid: Int32
    var uid: UInt32
    var gid: UInt32

    /// The peer of a connected Unix socket, or nil if the kernel cannot say.
    static func of(fd: Int32) -> PeerCredentials? {
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
        var cred = (Int32(0), UInt32(0), UInt32(0))
        var len = socklen_t(MemoryLayout.size(ofValue: cred))
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 else { return nil }
        return PeerCredentials(pid: cred.0, uid: cred.1, gid: cred.2)
    }

    var description: String { "uid \(uid) (gid \(gid), pid \(pid))" }
}

/// The open control connections, so that idle clients cannot lock operators out.
///
/// Connections are cheap to hold and a client may hold many (a script that forgets to close them, or a hostile
/// one): a fixed limit that refuses newcomers lets 64 idle connections starve every `mdctl`. Instead, a newcomer
/// at the limit evicts the longest-idle connection of the uid holding the most connections. A connection is idle
/// between requests; one being answered is never evicted. So a flood of idle connections only ever evicts its own
/// oldest members, an operator's request gets a slot at once, and a flooding uid cannot push out another uid's
/// connections while it holds more than they do. Only when every connection is busy answering is a newcomer refused.
/// (Slow senders are the frame deadline's business: see `FramedSocket.frameTimeout`.)
final class ClientTable: @unchecked Sendable {
    /// Outcome of admitting a new connection.
    enum Admission {
        case admitted(id: Int, evicted: PeerCredentials?)
        case refused
    }

    private struct Entry {
        let fd: Int32
        let peer: PeerCredentials
        var busy = false
        /// When it last finished a request (or connected), as a tick of `clock`: ordering is all that matters.
        var lastActive: Int
    }

    private let lock = NSLock()
    private var entries: [Int: Entry] = [:]
    private var nextId = 1
    private var clock = 0
    let limit: Int

    init(limit: Int) { self.limit = limit }

    var count: Int { lock.withLock { entries.count } }

    /// Admits a connection, evicting an idle one if the table is full.
    func admit(fd: Int32, peer: PeerCredentials) -> Admission {
        lock.withLock {
            var evicted: PeerCredentials?
            if entries.count >= limit {
                guard let victim = evictionCandidate(), let entry = entries.removeValue(forKey: victim) else { return .refused }
                // shutdown, not close: the descriptor stays owned (and valid) until the victim's thread, whose
                // blocked read now returns end-of-file, calls `leave` and releases its socket.
                shutdown(entry.fd, Int32(SHUT_RDWR))
                evicted = entry.peer
            }
            let id = nextId
            nextId += 1
            clock += 1
            entries[id] = Entry(fd: fd, peer: peer, lastActive: clock)
            return .admitted(id: id, evicted: evicted)
        }
    }

    /// The idle connection to drop: of the uid holding the most connections, the one idle longest.
    private func evictionCandidate() -> Int? {
        var perUID: [UInt32: Int] = [:]
        for e in entries.values { perUID[e.peer.uid, default: 0] += 1 }
        return entries.filter { !$0.value.busy }.min { a, b in
            let (ca, cb) = (perUID[a.value.peer.uid] ?? 0, perUID[b.value.peer.uid] ?? 0)
            return ca != cb ? ca > cb : a.value.lastActive < b.value.lastActive
        }?.key
    }

    /// A request arrived on the connection: it is not idle until `idle(id)`.
    func busy(_ id: Int) { lock.withLock { entries[id]?.busy = true } }

    /// The request was answered.
    func idle(_ id: Int) {
        lock.withLock {
            clock += 1
            entries[id]?.busy = false
            entries[id]?.lastActive = clock
        }
    }

    /// The connection ended (or was evicted: then it is gone already).
    func leave(_ id: Int) {
        lock.withLock { entries[id] = nil }
    }
}
