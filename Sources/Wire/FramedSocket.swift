import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A connected Unix stream socket carrying length-prefixed frames (4-byte big-endian length + payload).
/// Owns its descriptor and closes it in deinit; EINTR is retried in one place.
public final class FramedSocket: @unchecked Sendable {
    public let fd: Int32
    /// Seconds a peer has to deliver the rest of a frame once its first byte arrived; nil: only the receive
    /// timeout, per read. (A peer sending one byte every few seconds would otherwise hold a connection forever.)
    public var frameTimeout: Double?

    public init(fd: Int32) { self.fd = fd }

    deinit { close(fd) }

    /// Connects to the socket at `path`.
    public static func connect(path: String) throws -> FramedSocket {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw WireError(.internalError, "socket(): \(String(cString: strerror(errno)))") }
        let s = FramedSocket(fd: fd)
        var addr = try UnixAddress(path)
        let rc = withUnsafePointer(to: &addr.storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, addr.length) }
        }
        guard rc == 0 else { throw ConnectError(path: path, code: errno) }
        return s
    }

    /// Sets a receive timeout so that a silent peer cannot hold a thread forever.
    public func setReceiveTimeout(seconds: Int) {
        receiveTimeout = Double(seconds)
        var tv = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// The receive timeout between frames (0: none), restored after a frame read under a deadline.
    private var receiveTimeout = 0.0

    /// A receive timeout for the rest of a frame (at least a millisecond: zero would mean none).
    private func setReceiveTimeout(interval: Double) {
        let usec = Int(max(interval, 0.001) * 1_000_000)
        var tv = timeval(tv_sec: usec / 1_000_000, tv_usec: Int(usec % 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    private func restoreReceiveTimeout() {
        var tv = timeval(tv_sec: Int(receiveTimeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    public func send(_ payload: Data) throws {
        var header = UInt32(payload.count).bigEndian
        var frame = Data(bytes: &header, count: 4)
        frame.append(payload)
        try frame.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = Glibc.send(fd, raw.baseAddress! + off, raw.count - off, Int32(MSG_NOSIGNAL))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw WireError(.internalError, "send: \(String(cString: strerror(errno)))")
                }
                off += n
            }
        }
    }

    /// Outcome of reading one frame.
    public enum Frame {
        case message(Data)
        /// The peer closed the connection cleanly between frames.
        case closed
        /// The announced length exceeds the limit; the payload was not read.
        case tooLarge(Int)
    }

    public func receive(maxBytes: Int = WireProtocol.maxMessageBytes) throws -> Frame {
        var deadline: Date?
        defer { if deadline != nil { restoreReceiveTimeout() } }
        guard let header = try readExactly(4, allowEOF: true, deadline: &deadline) else { return .closed }
        let length = header.withUnsafeBytes { Int(UInt32(bigEndian: $0.loadUnaligned(as: UInt32.self))) }
        guard length <= maxBytes else { return .tooLarge(length) }
        guard let body = try readExactly(length, allowEOF: false, deadline: &deadline) else { throw WireError(.badRequest, "connection closed mid-frame") }
        return .message(body)
    }

    private var frameDeadlinePassed: WireError {
        WireError(.badRequest, "timed out: a whole frame must arrive within \(frameTimeout ?? 0) s")
    }

    /// Reads `count` bytes. `deadline` is set when the frame's first byte arrives (with `frameTimeout`); every
    /// later read waits only for what is left of it.
    private func readExactly(_ count: Int, allowEOF: Bool, deadline: inout Date?) throws -> Data? {
        var buffer = Data(count: count)
        var got = 0
        while got < count {
            if let d = deadline {
                let left = d.timeIntervalSinceNow
                guard left > 0 else { throw frameDeadlinePassed }
                setReceiveTimeout(interval: left)
            }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + got, count - got, 0) }
            if n > 0, deadline == nil, let t = frameTimeout { deadline = Date().addingTimeInterval(t) }
            if n == 0 {
                if got == 0 && allowEOF { return nil }
                throw WireError(.badRequest, "connection closed mid-frame")
            }
            if n < 0 {
                if errno == EINTR { continue }
                // Under a deadline the read waited only for what was left of it.
                if errno == EAGAIN || errno == EWOULDBLOCK { throw deadline == nil ? WireError(.badRequest, "timed out waiting for data") : frameDeadlinePassed }
                throw WireError(.internalError, "recv: \(String(cString: strerror(errno)))")
            }
            got += n
        }
        return buffer
    }
}

/// A failed connect, with the path and errno (mdctl turns it into "daemon not running at …").
public struct ConnectError: Error, CustomStringConvertible {
    public let path: String
    public let code: Int32
    public var description: String { "cannot connect to \(path): \(String(cString: strerror(code)))" }
}

/// sockaddr_un for a filesystem path.
public struct UnixAddress {
    public var storage = sockaddr_un()
    public let length: socklen_t

    public init(_ path: String) throws {
        storage.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: storage.sun_path)
        guard bytes.count < capacity else { throw WireError(.invalid, "socket path is longer than \(capacity - 1) bytes: \(path)") }
        withUnsafeMutableBytes(of: &storage.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
            raw[bytes.count] = 0
        }
        length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + 1)
    }
}
