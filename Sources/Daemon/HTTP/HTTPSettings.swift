import Foundation

/// Where the HTTP listener binds and which bearer token it asks for, validated before the daemon starts.
struct HTTPSettings: Sendable, Equatable {
    enum Family: Sendable, Equatable { case ipv4, ipv6 }

    let host: String
    let port: UInt16
    let family: Family
    /// nil: no token asked for (allowed on loopback only).
    let token: String?

    /// Parses `HOST:PORT` (`127.0.0.1:9464`, `[::1]:9464`, `localhost:0`) and reads the token file. A bind beyond
    /// loopback without a token is refused: the pages show prompts and images, which are not for the whole network.
    init(address: String, tokenFile: String?) throws {
        (host, port, family) = try Self.parse(address)
        token = try tokenFile.map(Self.readToken)
        if token == nil && !isLoopback { throw HTTPError.tokenRequired(host: host) }
    }

    /// 127.0.0.0/8 and ::1.
    var isLoopback: Bool {
        switch family {
        case .ipv4: return host.hasPrefix("127.")
        case .ipv6: return host == "::1"
        }
    }

    /// How the address reads in logs and URLs.
    func display(port p: UInt16? = nil) -> String {
        let h = family == .ipv6 ? "[\(host)]" : host
        return "\(h):\(p ?? port)"
    }

    private static func parse(_ address: String) throws -> (String, UInt16, Family) {
        guard let colon = address.lastIndex(of: ":"), let port = UInt16(address[address.index(after: colon)...]) else {
            throw HTTPError.badAddress(address)
        }
        var host = String(address[..<colon])
        if host == "localhost" { host = "127.0.0.1" }
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
            var a = in6_addr()
            guard inet_pton(AF_INET6, host, &a) == 1 else { throw HTTPError.badAddress(address) }
            return (host, port, .ipv6)
        }
        var a = in_addr()
        guard inet_pton(AF_INET, host, &a) == 1 else { throw HTTPError.badAddress(address) }
        return (host, port, .ipv4)
    }

    /// The token is the file's first line. The file must belong to this user and be unreadable by group and
    /// others (like ssh's private keys), or anyone who can read it can read the pages.
    static func readToken(_ path: String) throws -> String {
        var st = stat()
        guard stat(path, &st) == 0 else { throw HTTPError.tokenFile(path: path, reason: String(cString: strerror(errno))) }
        guard st.st_uid == geteuid() else { throw HTTPError.tokenFile(path: path, reason: "owned by uid \(st.st_uid), not by the daemon's uid \(geteuid())") }
        guard st.st_mode & 0o077 == 0 else {
            throw HTTPError.tokenFile(path: path, reason: String(format: "mode %03o lets group or others read it; chmod 600 it", st.st_mode & 0o777))
        }
        guard let data = FileManager.default.contents(atPath: path),
              let line = String(data: data, encoding: .utf8)?.split(whereSeparator: \.isNewline).first else {
            throw HTTPError.tokenFile(path: path, reason: "empty or not UTF-8")
        }
        let token = line.trimmingCharacters(in: .whitespaces)
        guard token.count >= 16 else { throw HTTPError.tokenFile(path: path, reason: "token shorter than 16 characters") }
        return token
    }

    /// Whether an `Authorization` header carries the token (compared in constant time).
    func authorizes(_ header: String?) -> Bool {
        guard let token else { return true }
        guard let header, header.hasPrefix("Bearer ") else { return false }
        let given = Array(header.dropFirst("Bearer ".count).utf8), wanted = Array(token.utf8)
        guard given.count == wanted.count else { return false }
        return zip(given, wanted).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
