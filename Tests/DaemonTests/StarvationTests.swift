import Foundation
import Wire
import XCTest

/// Clients that connect and say nothing, or trickle bytes, must never lock an operator out of the control socket.
final class StarvationTests: XCTestCase {
    /// 200 idle connections (the old fixed limit was 64, then "too many clients; try again" for everyone): the
    /// operator's `mdctl` is still answered, and the evictions are logged with uid and pid.
    func testTwoHundredIdleClientsDoNotLockOperatorsOut() throws {
        let h = try DaemonHarness(test: self)
        try h.start()
        var idle: [FramedSocket] = []
        for _ in 0..<200 { idle.append(try FramedSocket.connect(path: h.socket)) }
        let start = Date()
        let health = h.ctl(["health"])
        XCTAssertEqual(health.status, 0, health.stderr)
        XCTAssertEqual(h.ctl(["status"]).status, 0)
        // A generous bound: this is about being answered at all, not about speed.
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertLessThan(elapsed, 10)
        print("[starvation] 200 idle clients: health and status answered in \(String(format: "%.3f", elapsed)) s")
        XCTAssertTrue(h.log().contains("evicted the idle client uid \(getuid()) (gid \(getgid()), pid \(getpid()))"), h.log().suffix(2000).description)
        // The newest idle connections are still held; the flood evicted its own oldest members.
        let newest = try XCTUnwrap(idle.last)
        try newest.send(try WireCoding.encoder().encode(Request(id: 9, kind: .health, body: Empty())))
        guard case .message = try newest.receive() else { return XCTFail("the newest idle connection was dropped") }
        idle.removeAll()
    }

    /// A peer that sends a frame a byte at a time is cut off when the frame's deadline passes, however steadily
    /// the bytes come (each read alone would never time out).
    func testTricklingPeerIsCutOffAtTheFrameDeadline() throws {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds), 0)
        let server = FramedSocket(fd: fds[0]), peer = FramedSocket(fd: fds[1])
        server.setReceiveTimeout(seconds: 30)  // only the wait for the first byte; the frame deadline cuts the rest
        server.frameTimeout = 0.3
        let stop = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            // Announces 100 bytes, then sends one every 50 ms until told to stop.
            for byte in [UInt8(0), 0, 0, 100] + [UInt8](repeating: 0x41, count: 99) {
                var b = byte
                _ = send(peer.fd, &b, 1, Int32(MSG_NOSIGNAL))
                if stop.wait(timeout: .now() + 0.05) == .success { return }
            }
        }
        defer { stop.signal() }
        XCTAssertThrowsError(try server.receive()) { e in
            XCTAssertTrue("\(e)".contains("a whole frame must arrive within 0.3 s"), "\(e)")
        }
    }
}
