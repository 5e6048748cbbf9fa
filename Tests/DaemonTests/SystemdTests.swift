import Foundation
import Wire
import XCTest

/// The units verify with systemd-analyze, and the daemon speaks the sd_notify protocol.
final class SystemdTests: XCTestCase {
    func testUnitsVerify() throws {
        let analyze = "/usr/bin/systemd-analyze"
        guard FileManager.default.isExecutableFile(atPath: analyze) else { throw XCTSkip("systemd-analyze is not installed") }
        let h = try DaemonHarness(test: self)
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        for unit in ["mdd.service", "mdd.socket"] {
            // ExecStart must name an existing binary: point it at the one just built.
            let text = try String(contentsOfFile: repo + "/systemd/" + unit, encoding: .utf8)
                .replacingOccurrences(of: "/usr/local/bin/mdd", with: h.binDir + "/mdd")
            try text.write(toFile: h.dir + "/" + unit, atomically: true, encoding: .utf8)
        }
        let r = h.run(analyze, ["verify", h.dir + "/mdd.service", h.dir + "/mdd.socket"])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
    }

    func testNotifiesReadyAndStopping() throws {
        let h = try DaemonHarness(test: self)
        let path = h.dir + "/notify.sock"
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var addr = try UnixAddress(path)
        let rc = withUnsafePointer(to: &addr.storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, addr.length) } }
        XCTAssertEqual(rc, 0)
        var tv = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setenv("NOTIFY_SOCKET", path, 1)
        defer { unsetenv("NOTIFY_SOCKET") }
        let p = try h.start()
        var messages: [String] = []
        func receive() -> String? {
            var buf = [UInt8](repeating: 0, count: 4096)
            let n = recv(fd, &buf, buf.count, 0)
            return n > 0 ? String(decoding: buf[0..<n], as: UTF8.self) : nil
        }
        while let m = receive() { messages.append(m); if m.contains("READY=1") { break } }
        XCTAssertTrue(messages.contains { $0.contains("READY=1") }, "\(messages)")
        kill(p.processIdentifier, SIGTERM)
        while let m = receive() { messages.append(m); if m.contains("STOPPING=1") { break } }
        XCTAssertTrue(messages.contains { $0.contains("STOPPING=1") }, "\(messages)")
        try h.waitForExit(p)
    }
}
