import FlyingFox
import FlyingSocks
import Foundation
import Logging

/// `mdd serve --http HOST:PORT`: a read-only HTTP listener for `/metrics` and the status pages.
///
/// FlyingFox serves it on Swift's cooperative pool; handlers only read the queue (short SQLite reads under the
/// store's lock) and files, so the render threads are never blocked by it. Start-up blocks until the socket
/// listens, so a port in use or a bad address refuses the daemon's start like any other bad setting.
final class HTTPListener: @unchecked Sendable {
    private let settings: HTTPSettings
    private let server: HTTPServer
    private let log: Logger
    private var task: Task<Void, Never>?

    init(settings: HTTPSettings, routes: HTTPRoutes, log: Logger) throws {
        self.settings = settings
        self.log = log
        let address: any SocketAddress
        switch settings.family {
        case .ipv4: address = try sockaddr_in.inet(ip4: settings.host, port: settings.port)
        case .ipv6: address = try sockaddr_in6.inet6(ip6: settings.host, port: settings.port)
        }
        server = HTTPServer(address: address, timeout: 30, logger: .disabled, handler: routes)
    }

    /// Binds and listens; returns the port (the one the kernel chose for port 0).
    @discardableResult
    func start() throws -> UInt16 {
        let outcome = Outcome()
        let server = self.server
        task = Task.detached {
            do { try await server.run() } catch { outcome.finish(.failure(error)) }
        }
        Task.detached {
            do {
                try await server.waitUntilListening(timeout: 30)
                outcome.finish(.success(await Self.port(of: server)))
            } catch {
                outcome.finish(.failure(error))
            }
        }
        switch outcome.wait() {
        case .success(let port):
            log.info("http listening on \(settings.display(port: port))", metadata: ["token": "\(settings.token == nil ? "none" : "required")"])
            return port
        case .failure(let error):
            task?.cancel()
            throw HTTPError.bindFailed(address: settings.display(), reason: "\(error)")
        }
    }

    /// Closes the socket; open connections end with it.
    func stop() {
        let done = DispatchSemaphore(value: 0)
        let server = self.server
        Task.detached { await server.stop(timeout: 1); done.signal() }
        done.wait()
        task?.cancel()
    }

    private static func port(of server: HTTPServer) async -> UInt16 {
        switch await server.listeningAddress {
        case .ip4(_, let port)?, .ip6(_, let port)?: return port
        default: return 0
        }
    }

    /// The first result of the two start-up tasks, handed to the blocked starting thread.
    private final class Outcome: @unchecked Sendable {
        private let condition = NSCondition()
        private var result: Result<UInt16, Error>?

        func finish(_ r: Result<UInt16, Error>) {
            condition.lock()
            if result == nil { result = r }
            condition.broadcast()
            condition.unlock()
        }

        func wait() -> Result<UInt16, Error> {
            condition.lock()
            defer { condition.unlock() }
            while true {
                if let result { return result }
                condition.wait()
            }
        }
    }
}
