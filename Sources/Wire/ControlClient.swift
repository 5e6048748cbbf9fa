import Foundation

/// mdctl's side of the protocol: one connection, sequential calls.
public final class ControlClient {
    private let socket: FramedSocket
    private var nextId = 1
    public let path: String

    public init(path: String) throws {
        self.path = path
        socket = try FramedSocket.connect(path: path)
    }

    /// Sends `body` as a `kind` request and decodes the reply body as `Reply`; error replies throw `WireError`.
    public func call<Body: Codable & Sendable, Reply: Codable & Sendable>(_ kind: RequestKind, _ body: Body, as: Reply.Type) throws -> Reply {
        let id = nextId
        nextId += 1
        let frame: FramedSocket.Frame
        do {
            try socket.send(try WireCoding.encoder().encode(Request(id: id, kind: kind, body: body)))
            frame = try socket.receive()
        } catch {
            // The daemon may have answered (e.g. refused the peer) and closed before the request was written:
            // its reply, if any, says more than EPIPE.
            guard let answer = try? socket.receive(), case .message = answer else { throw error }
            frame = answer
        }
        switch frame {
        case .closed: throw WireError(.internalError, "the daemon closed the connection")
        case .tooLarge(let n): throw WireError(.tooLarge, "reply of \(n) bytes exceeds the limit")
        case .message(let data):
            let header = try WireCoding.decoder().decode(ResponseHeader.self, from: data)
            if !header.ok { throw header.error ?? WireError(.internalError, "error reply without a message") }
            let reply = try WireCoding.decoder().decode(Response<Reply>.self, from: data)
            guard let body = reply.body else { throw WireError(.internalError, "reply without a body") }
            return body
        }
    }
}

/// Where the control socket lives unless told: `$XDG_RUNTIME_DIR/mdd/mdd.sock`, or `/run/mdd/mdd.sock` as root.
public enum DefaultPaths {
    public static func socket(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let s = environment["MDD_SOCKET"], !s.isEmpty { return s }
        if getuid() != 0, let xdg = environment["XDG_RUNTIME_DIR"], !xdg.isEmpty { return xdg + "/mdd/mdd.sock" }
        return "/run/mdd/mdd.sock"
    }

    /// `$XDG_STATE_HOME/mdd`, `~/.local/state/mdd`, or `/var/lib/mdd` as root.
    public static func stateDir(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if getuid() == 0 { return environment["STATE_DIRECTORY"] ?? "/var/lib/mdd" }
        if let xdg = environment["XDG_STATE_HOME"], !xdg.isEmpty { return xdg + "/mdd" }
        return (environment["HOME"] ?? "/tmp") + "/.local/state/mdd"
    }
}
