import Foundation
import Logging
import Synchronization
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// The control socket: a listening Unix socket (mode 0660 in a 0750 directory), an accept thread, and one thread
/// per client with receive timeouts, a deadline for each whole frame and a frame-size limit, so a slow or hostile
/// client stalls nobody else. Peers are checked with SO_PEERCRED against the allow list before any request is
/// read; allowed peers share a table of connections in which idle ones make way for newcomers (`ClientTable`),
/// refused peers get their answer on a small budget of their own, and both are logged with uid and pid.
final class ControlServer: @unchecked Sendable {
    private let path: String
    private let router: RequestRouter
    private let access: PeerAccess
    private let log: Logger
    private var listenFD: Int32 = -1
    private let clients = ClientTable(limit: 64)
    /// Threads answering peers that are not allowed; beyond this they are closed without an answer.
    private let refusals = ClientCounter(limit: 8)
    private let refusalLog: RateLimitedLog
    /// Seconds a client has to send the rest of a frame once it started (mdctl sends a request at once).
    static let frameTimeout = 10.0
    private let answering = InFlightRequests()
    /// Set by `stop()`, read by the accept and client threads (atomic: a plain Bool was a data race).
    private let stopFlag = Atomic<Bool>(false)
    private var stopping: Bool { stopFlag.load(ordering: .acquiring) }

    init(path: String, router: RequestRouter, access: PeerAccess, log: Logger) {
        self.path = path
        self.router = router
        self.access = access
        self.log = log
        refusalLog = RateLimitedLog(log: log, perSecond: 10)
    }

    /// Binds and listens (or adopts systemd's socket, see mdd.socket); throws if another daemon answers.
    func start() throws {
        if let fd = Self.activatedSocket() {
            listenFD = fd
            log.info("using the socket passed by systemd (socket activation)")
        } else {
            try bindAndListen()
        }
        let t = Thread { [self] in acceptLoop() }
        t.name = "mdd-accept"
        t.start()
        log.info("control socket listening", metadata: ["path": "\(path)"])
    }

    /// sd_listen_fds: fd 3 when LISTEN_PID is us and LISTEN_FDS ≥ 1.
    static func activatedSocket(environment: [String: String] = ProcessInfo.processInfo.environment) -> Int32? {
        guard environment["LISTEN_PID"].flatMap(Int32.init) == getpid(), let n = environment["LISTEN_FDS"].flatMap(Int.init), n >= 1 else { return nil }
        unsetenv("LISTEN_PID")
        unsetenv("LISTEN_FDS")
        _ = fcntl(3, F_SETFD, FD_CLOEXEC)
        return 3
    }

    private func bindAndListen() throws {
        try prepareDirectory()
        if FileManager.default.fileExists(atPath: path) {
            if (try? FramedSocket.connect(path: path)) != nil { throw ConfigError("another mdd is already listening on \(path)") }
            unlink(path)  // stale socket from a crash
        }
        listenFD = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard listenFD >= 0 else { throw ConfigError("socket(): \(String(cString: strerror(errno)))") }
        var addr = try UnixAddress(path)
        let rc = withUnsafePointer(to: &addr.storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listenFD, $0, addr.length) } }
        guard rc == 0 else { throw ConfigError("bind \(path): \(String(cString: strerror(errno)))") }
        chmod(path, 0o660)
        guard listen(listenFD, 128) == 0 else { throw ConfigError("listen \(path): \(String(cString: strerror(errno)))") }
    }

    /// Stops accepting, then waits (up to 2 s) for requests being answered: a `shutdown` request's own reply
    /// must reach its client before the process exits (it raced `_exit` and was sometimes lost).
    func stop() {
        stopFlag.store(true, ordering: .releasing)
        shutdown(listenFD, Int32(SHUT_RDWR))
        close(listenFD)
        unlink(path)
        if !answering.waitUntilIdle(timeout: 2) { log.warning("stopping with a reply still being written") }
    }

    private func prepareDirectory() throws {
        let dir = (path as NSString).deletingLastPathComponent
        if !FileManager.default.fileExists(atPath: dir) {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
        }
    }

    private func acceptLoop() {
        while !stopping {
            let fd = accept(listenFD, nil, nil)
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                if !stopping { log.error("accept failed: \(String(cString: strerror(errno)))") }
                return
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            let client = FramedSocket(fd: fd)
            guard let peer = PeerCredentials.of(fd: fd) else {
                refusalLog.warning("refused a client: cannot read its credentials (SO_PEERCRED): \(String(cString: strerror(errno)))")
                continue
            }
            if let denial = access.check(peer) { refuse(client, peer, denial) } else { admit(client, peer) }
        }
    }

    /// Gives an allowed peer a connection slot (evicting an idle connection if all are taken) and a thread.
    private func admit(_ client: FramedSocket, _ peer: PeerCredentials) {
        switch clients.admit(fd: client.fd, peer: peer) {
        case .refused:
            refusalLog.warning("refused client \(peer): all \(clients.limit) connections are answering requests")
            reply(client, ErrorResponse(id: 0, error: WireError(.internalError, "all \(clients.limit) connections are busy answering; try again")))
        case .admitted(let id, let evicted):
            if let evicted { refusalLog.warning("evicted the idle client \(evicted) to admit \(peer) (\(clients.limit) connections at most)") }
            startThread { [self] in
                serve(client, id: id)
                clients.leave(id)  // before `client` (and its descriptor) is released
            }
        }
    }

    /// Answers a peer that is not allowed: its first request gets the reason rather than a bare close (a client
    /// still sending when the socket closes would only see EPIPE).
    private func refuse(_ client: FramedSocket, _ peer: PeerCredentials, _ denial: String) {
        refusalLog.warning("rejected client: \(denial)")
        guard refusals.enter() else { return }  // closed unanswered: too many refusals in flight
        startThread { [self] in
            defer { refusals.leave() }
            client.setReceiveTimeout(seconds: 2)
            client.frameTimeout = 2
            var id = 0
            if case .message(let data)? = try? client.receive(), let header = try? WireCoding.decoder().decode(RequestHeader.self, from: data) {
                id = header.id ?? 0
            }
            reply(client, ErrorResponse(id: id, error: WireError(.forbidden, denial)))
        }
    }

    private func startThread(_ body: @escaping @Sendable () -> Void) {
        let t = Thread(block: body)
        t.name = "mdd-client"
        t.start()
    }

    private func serve(_ client: FramedSocket, id: Int) {
        client.setReceiveTimeout(seconds: 60)
        client.frameTimeout = Self.frameTimeout
        while !stopping {
            let frame: FramedSocket.Frame
            do { frame = try client.receive() } catch { return }
            switch frame {
            case .closed: return
            case .tooLarge(let n):
                reply(client, ErrorResponse(id: 0, error: WireError(.tooLarge, "message of \(n) bytes exceeds the \(WireProtocol.maxMessageBytes)-byte limit")))
                return  // the unread payload makes the stream unusable
            case .message(let data):
                answering.begin()
                clients.busy(id)
                defer {
                    clients.idle(id)
                    answering.end()
                }
                guard let out = try? router.handle(data) else { return }
                if (try? client.send(out)) == nil { return }
            }
        }
    }

    private func reply<T: Encodable>(_ client: FramedSocket, _ value: T) {
        if let data = try? WireCoding.encoder().encode(value) { try? client.send(data) }
    }
}

/// Requests between receipt and the end of their reply.
final class InFlightRequests: @unchecked Sendable {
    private let condition = NSCondition()
    private var count = 0
    func begin() { condition.lock(); count += 1; condition.unlock() }
    func end() { condition.lock(); count -= 1; condition.broadcast(); condition.unlock() }
    /// Whether the count reached zero within `timeout` seconds.
    func waitUntilIdle(timeout: Double) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date().addingTimeInterval(timeout)
        while count > 0 { if !condition.wait(until: deadline) { return count == 0 } }
        return true
    }
}

/// Caps concurrent threads answering refused peers.
final class ClientCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    private let limit: Int
    init(limit: Int) { self.limit = limit }
    func enter() -> Bool { lock.withLock { if count >= limit { return false }; count += 1; return true } }
    func leave() { lock.withLock { count -= 1 } }
}

/// SO_PEERCRED check: the peer's uid must be root, the daemon's own uid, or listed; or its gid listed.
struct PeerAccess: Sendable {
    var allowedUIDs: Set<UInt32>
    var allowedGIDs: Set<UInt32>

    init(extraUIDs: [UInt32], extraGIDs: [UInt32]) {
        allowedUIDs = Set(extraUIDs + [0, getuid()])
        allowedGIDs = Set(extraGIDs)
    }

    /// nil when allowed, else the reason.
    func check(_ peer: PeerCredentials) -> String? {
        if allowedUIDs.contains(peer.uid) || allowedGIDs.contains(peer.gid) { return nil }
        return "\(peer) is not allowed to control this daemon"
    }
}
