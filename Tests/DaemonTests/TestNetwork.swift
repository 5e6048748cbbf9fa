import Foundation
import XCTest

/// Network namespaces of a test's own, each joined to the host by a veth pair on a private /30
/// (10.<200 + pid % 50>.<i>.0/30: host side .1, namespace side .2), so that a daemon run in one reaches a server on
/// the host only through a link the test can take down. Removed at teardown (deleting a namespace deletes its veth
/// pair with it). Needs root (`ip netns add`); `unavailable` says why not.
final class TestNetwork {
    struct Link {
        let namespace: String
        /// The veth end on the host: taking it down cuts the namespace off.
        let hostInterface: String
        let hostAddress: String
        let address: String
        /// Runs a program inside the namespace (`ip netns exec` execs it: the process keeps the pid the test sees).
        var launcher: [String] { [TestNetwork.ip, "netns", "exec", namespace] }
    }

    static let ip = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/sbin/ip"

    /// The first two octets of this process's addresses.
    let prefix = "10.\(200 + Int(getpid() % 50))"
    private(set) var links: [Link] = []
    private let tag = String(getpid() % 100_000)

    /// Why namespaces cannot be made here, or nil if they can (a probe namespace is added and removed).
    static let unavailable: String? = {
        guard geteuid() == 0 else { return "not root" }
        let probe = "mddprobe\(getpid())"
        do {
            if let failure = try run(["netns", "add", probe]) { return "ip netns add: \(failure)" }
        } catch { return "ip: \(error)" }
        _ = try? run(["netns", "delete", probe])
        return nil
    }()

    init(test: XCTestCase) {
        test.addTeardownBlock { [self] in
            for l in links { _ = try? Self.run(["netns", "delete", l.namespace]) }
        }
    }

    /// A new namespace with its link up; the namespace's loopback is up too.
    func add() throws -> Link {
        let i = links.count
        let link = Link(namespace: "mdd\(tag)n\(i)", hostInterface: "mh\(tag)n\(i)", hostAddress: "\(prefix).\(i).1",
                        address: "\(prefix).\(i).2")
        let inner = "mp\(tag)n\(i)"
        try check(["netns", "add", link.namespace])
        links.append(link)
        try check(["link", "add", link.hostInterface, "type", "veth", "peer", "name", inner, "netns", link.namespace])
        try check(["addr", "add", link.hostAddress + "/30", "dev", link.hostInterface])
        try check(["link", "set", link.hostInterface, "up"])
        for args in [["addr", "add", link.address + "/30", "dev", inner], ["link", "set", inner, "up"], ["link", "set", "lo", "up"]] {
            try check(["netns", "exec", link.namespace, Self.ip] + args)
        }
        return link
    }

    /// Takes the link down (the namespace's packets go nowhere, no reset is sent) or brings it back.
    func set(_ link: Link, up: Bool) throws {
        try check(["link", "set", link.hostInterface, up ? "up" : "down"])
    }

    private func check(_ args: [String]) throws {
        if let failure = try Self.run(args) { throw HarnessError("ip \(args.joined(separator: " ")): \(failure)") }
    }

    /// Runs `ip` with `args`; nil on success, else its status and stderr.
    @discardableResult
    static func run(_ args: [String]) throws -> String? {
        let p = Process(), err = Pipe()
        p.executableURL = URL(fileURLWithPath: ip)
        p.arguments = args
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return p.terminationStatus == 0 ? nil : "status \(p.terminationStatus): \(message)"
    }
}
