import FlyingFox
import Foundation
import Queue

/// Every request of the HTTP listener: GET/HEAD only (405 otherwise), the bearer token when one is configured
/// (401), then one exhaustive switch over the routes.
struct HTTPRoutes: HTTPHandler {
    let context: DaemonContext
    let settings: HTTPSettings
    let metrics: DaemonMetrics

    /// The pages this listener knows, parsed from the request path.
    enum Route: Equatable {
        case metrics
        case notFound

        init(path: String) {
            switch path.split(separator: "/", omittingEmptySubsequences: true) {
            case ["metrics"]: self = .metrics
            default: self = .notFound
            }
        }
    }

    func handleRequest(_ request: HTTPRequest) async throws -> HTTPResponse {
        guard request.method == .GET || request.method == .HEAD else {
            return HTTPResponse(statusCode: .methodNotAllowed, headers: [.init("Allow"): "GET, HEAD"], body: Data("read-only: GET or HEAD\n".utf8))
        }
        guard settings.authorizes(request.headers[.authorization]) else {
            return HTTPResponse(statusCode: .unauthorized, headers: [.init("WWW-Authenticate"): "Bearer realm=\"mdd\""],
                                body: Data("a valid bearer token is required\n".utf8))
        }
        let response = respond(to: Route(path: request.path), request)
        return request.method == .HEAD ? try await Self.headersOnly(response) : response
    }

    private func respond(to route: Route, _ request: HTTPRequest) -> HTTPResponse {
        do {
            switch route {
            case .metrics: return try metricsPage()
            case .notFound: return Self.text(.notFound, "not found: \(request.path)\n")
            }
        } catch {
            context.log.error("http \(request.path): \(error)")
            return Self.text(.internalServerError, "\(error)\n")
        }
    }

    /// `/metrics`: the gauges are read from the queue at scrape time.
    private func metricsPage() throws -> HTTPResponse {
        let status = try context.store.status()
        let oldest = try context.store.list(JobFilter(state: .pending, limit: 1)).first?.createdAt
        let body = metrics.exposition(status: status, oldestPendingCreatedAt: oldest,
                                      workerStates: context.workers.map { $0.snapshot.state }, now: Date().timeIntervalSince1970)
        return HTTPResponse(statusCode: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"], body: Data(body.utf8))
    }

    static func text(_ status: HTTPStatusCode, _ body: String) -> HTTPResponse {
        HTTPResponse(statusCode: status, headers: [.contentType: "text/plain; charset=utf-8"], body: Data(body.utf8))
    }

    /// HEAD: GET's status and headers (its Content-Length included), no body.
    static func headersOnly(_ r: HTTPResponse) async throws -> HTTPResponse {
        var headers = r.headers
        headers[.contentLength] = String(try await r.bodyData.count)
        return HTTPResponse(statusCode: r.statusCode, headers: headers, body: Data())
    }
}
