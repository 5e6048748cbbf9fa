import Foundation

/// A minimal HTTP/1.1 client over a blocking loopback socket: one request per connection (`Connection: close`),
/// the path sent byte for byte (no client-side normalisation of `..`, which the traversal tests need).
struct HTTPTestClient {
    let port: UInt16

    struct Response {
        let status: Int
        let headers: [String: String]
        let body: Data
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    func get(_ path: String, method: String = "GET", headers: [String: String] = [:]) throws -> Response {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket: \(errno)") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 60, tv_usec: 0)  // a hung server fails the test instead of the suite
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0 else { throw HarnessError("connect 127.0.0.1:\(port): errno \(errno)") }
        var request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        for (k, v) in headers { request += "\(k): \(v)\r\n" }
        request += "\r\n"
        let bytes = Array(request.utf8)
        guard send(fd, bytes, bytes.count, 0) == bytes.count else { throw HarnessError("send failed") }
        var data = Data(), buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { break }
            data.append(buf, count: n)
        }
        return try Self.parse(data)
    }

    private static func parse(_ data: Data) throws -> Response {
        guard let split = data.range(of: Data("\r\n\r\n".utf8)) else { throw HarnessError("no HTTP header in \(data.count) bytes") }
        let head = String(decoding: data[..<split.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = head.first?.split(separator: " ") ?? []
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw HarnessError("bad status line \(head.first ?? "")") }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Response(status: status, headers: headers, body: data[split.upperBound...])
    }
}

extension DaemonHarness {
    /// The port the daemon's HTTP listener bound (it logs it before the control socket answers).
    func httpPort() throws -> UInt16 {
        let log = self.log()
        guard let r = log.range(of: #"http listening on 127\.0\.0\.1:[0-9]+"#, options: .regularExpression),
              let port = UInt16(log[r].split(separator: ":").last ?? "") else { throw HarnessError("no http listening line in: \(log.suffix(800))") }
        return port
    }
}
