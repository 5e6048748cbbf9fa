@testable import Daemon
import XCTest

/// Who makes way when the control socket's connection table is full.
final class ClientTableTests: XCTestCase {
    /// Admits with descriptor -1 (eviction's shutdown() then fails harmlessly instead of touching a real descriptor);
    /// returns the id and the evicted peer, or nil if refused.
    private func admit(_ t: ClientTable, pid: Int32, uid: UInt32 = 0) -> (id: Int, evicted: PeerCredentials?)? {
        guard case .admitted(let id, let evicted) = t.admit(fd: -1, peer: PeerCredentials(pid: pid, uid: uid, gid: uid)) else { return nil }
        return (id, evicted)
    }

    func testTheLongestIdleConnectionOfTheUIDHoldingMostMakesWay() {
        let t = ClientTable(limit: 3)
        XCTAssertNil(admit(t, pid: 1, uid: 0)?.evicted)  // the oldest, but root holds one connection
        XCTAssertNil(admit(t, pid: 11, uid: 1000)?.evicted)
        XCTAssertNil(admit(t, pid: 12, uid: 1000)?.evicted)
        XCTAssertEqual(admit(t, pid: 2, uid: 0)?.evicted?.pid, 11, "uid 1000 holds two: its longest-idle one makes way")
        XCTAssertEqual(t.count, 3)
    }

    func testBusyConnectionsAreNeverEvictedAndAnAllBusyTableRefuses() throws {
        let t = ClientTable(limit: 2)
        let a = try XCTUnwrap(admit(t, pid: 1)).id
        _ = admit(t, pid: 2)
        t.busy(a)
        let c = try XCTUnwrap(admit(t, pid: 3))
        XCTAssertEqual(c.evicted?.pid, 2, "the idle one made way, not the one answering a request")
        t.busy(c.id)
        XCTAssertNil(admit(t, pid: 4), "every connection is answering: refused")
        t.idle(a)
        XCTAssertEqual(admit(t, pid: 4)?.evicted?.pid, 1, "idle again after its answer")
    }
}
