import Foundation
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// The sd_notify protocol: datagrams such as "READY=1" to $NOTIFY_SOCKET when run under systemd (Type=notify);
/// a no-op otherwise.
final class SystemdNotifier: @unchecked Sendable {
    private let fd: Int32
    private var address: UnixAddress?
    /// Watchdog interval from $WATCHDOG_USEC, if systemd asked for pings.
    let watchdogInterval: Double?

    init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        var path = environment["NOTIFY_SOCKET"] ?? ""
        if path.hasPrefix("@") { path = "\0" + path.dropFirst() }  // abstract namespace
        address = path.isEmpty ? nil : try? UnixAddress(path)
        fd = address == nil ? -1 : socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        watchdogInterval = environment["WATCHDOG_USEC"].flatMap(Double.init).map { $0 / 1e6 }
    }

    deinit { if fd >= 0 { close(fd) } }

    var enabled: Bool { fd >= 0 }

    func notify(_ state: String) {
        guard fd >= 0, var addr = address else { return }
        let bytes = Array(state.utf8)
        _ = withUnsafePointer(to: &addr.storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                sendto(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL), sa, addr.length)
            }
        }
    }
}

