import FlyingFox
import Foundation
import Queue
import Wire

/// Every request of the HTTP listener: GET/HEAD only (405 otherwise), the bearer token when one is configured
/// (401), then one exhaustive switch over the routes.
struct HTTPRoutes: HTTPHandler {
    let context: DaemonContext
    let settings: HTTPSettings
    let metrics: DaemonMetrics
    let files: ImageFiles
    var pages: StatusPages { StatusPages(context: context, files: files, history: metrics.history, batchRates: metrics.batchRates) }

    /// The pages this listener knows, parsed from the (already percent-decoded) request path.
    enum Route: Equatable {
        case index, metrics, apiStatus
        case batch(String), contactSheet(String), apiBatch(String)
        case job(Int64), thumbnail(Int64)
        case image(String)
        case notFound

        init(path: String) {
            let parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
            switch parts.count > 0 ? parts[0] : "" {
            case "" where parts.isEmpty: self = .index
            case "metrics" where parts.count == 1: self = .metrics
            case "images" where parts.count > 1: self = .image(parts.dropFirst().joined(separator: "/"))
            case "thumbs" where parts.count == 2 && parts[1].hasSuffix(".png"):
                self = Int64(parts[1].dropLast(4)).map(Route.thumbnail) ?? .notFound
            case "jobs" where parts.count == 2: self = Int64(parts[1]).map(Route.job) ?? .notFound
            case "batches" where parts.count == 2: self = .batch(parts[1])
            case "batches" where parts.count == 3 && parts[2] == "contact-sheet.png": self = .contactSheet(parts[1])
            case "api" where parts == ["api", "status"]: self = .apiStatus
            case "api" where parts.count == 3 && parts[1] == "batches": self = .apiBatch(parts[2])
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
            case .index: return Self.html(try pages.index())
            case .metrics: return try metricsPage()
            case .apiStatus: return try Self.json(StatusHandler.handle(StatusRequest(batch: request.query["batch"]), context))
            case .apiBatch(let name): return try Self.json(ListHandler.handle(listRequest(name, request.query), context))
            case .batch(let name):
                let state = try JobState(named: request.query["state"] ?? "succeeded")
                let after = Int64(request.query["after"] ?? "") ?? 0
                return try pages.batch(name, state: state, after: after).map(Self.html) ?? notFound(request)
            case .contactSheet(let name): return try contactSheet(name, request.query)
            case .job(let id): return try pages.job(id).map(Self.html) ?? notFound(request)
            case .thumbnail(let id):
                guard let job = try context.store.job(id), let png = try files.thumbnail(for: job, size: 128) else { return notFound(request) }
                return Self.png(png, cache: "max-age=86400")
            case .image(let relative):
                guard let path = files.resolve(relative: relative), let data = FileManager.default.contents(atPath: path) else { return notFound(request) }
                return Self.png([UInt8](data), cache: "max-age=3600")
            case .notFound: return notFound(request)
            }
        } catch let e as WireError {
            return Self.text(e.code == .notFound ? .notFound : .badRequest, "\(e.message)\n")
        } catch let e as QueueError {
            let wire = RequestRouter.wireError(e)
            return Self.text(wire.code == .notFound ? .notFound : wire.code == .invalid ? .badRequest : .internalServerError, "\(e)\n")
        } catch {
            context.log.error("http \(request.path): \(error)")
            return Self.text(.internalServerError, "\(error)\n")
        }
    }

    private func notFound(_ request: HTTPRequest) -> HTTPResponse { Self.text(.notFound, "not found\n") }

    /// `/metrics`: the gauges are read from the queue at scrape time.
    private func metricsPage() throws -> HTTPResponse {
        let status = try context.store.status()
        let now = Date().timeIntervalSince1970
        let oldest = try metrics.oldestPending.oldestCreatedAt(store: context.store, pending: status.counts.pending, now: now)
        let body = metrics.exposition(status: status, oldestPendingCreatedAt: oldest, workerStates: context.workers.map { $0.snapshot.state },
                                      nodes: try WorkersHandler.nodes(context), now: now)
        return HTTPResponse(statusCode: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"], body: Data(body.utf8))
    }

    /// `/batches/NAME/contact-sheet.png?columns=&size=&state=&limit=`: the same sheet as `mdctl contact-sheet`.
    private func contactSheet(_ name: String, _ q: [HTTPRequest.QueryItem]) throws -> HTTPResponse {
        var r = ContactSheetRequest(batch: name)
        r.columns = q["columns"].flatMap { Int($0) }
        if let s = q["size"].flatMap({ Int($0) }) { r.size = s }
        if let s = q["state"] { r.state = s }
        if let l = q["limit"].flatMap({ Int($0) }) { r.limit = l }
        let sheet = try ContactSheet(request: r, model: context.engine.modelName).make(store: context.store)
        return Self.png([UInt8](sheet.png), cache: "no-store")
    }

    /// `/api/batches/NAME?state=&after=&limit=`: `mdctl ls --batch NAME --json`.
    private func listRequest(_ name: String, _ q: [HTTPRequest.QueryItem]) -> ListRequest {
        ListRequest(batch: name, state: q["state"], afterId: q["after"].flatMap { Int64($0) } ?? 0,
                    limit: q["limit"].flatMap { Int($0) } ?? 50)
    }
}

extension HTTPRoutes {
    static func text(_ status: HTTPStatusCode, _ body: String) -> HTTPResponse {
        HTTPResponse(statusCode: status, headers: [.contentType: "text/plain; charset=utf-8"], body: Data(body.utf8))
    }

    static func html(_ page: String) -> HTTPResponse {
        HTTPResponse(statusCode: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"], body: Data(page.utf8))
    }

    static func png(_ bytes: [UInt8], cache: String) -> HTTPResponse {
        HTTPResponse(statusCode: .ok, headers: [.contentType: "image/png", .cacheControl: cache], body: Data(bytes))
    }

    /// The JSON mdctl prints with `--json` (same encoder and formatting).
    static func json<T: Encodable>(_ value: T) throws -> HTTPResponse {
        let enc = WireCoding.encoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        var body = try enc.encode(value)
        body.append(0x0A)
        return HTTPResponse(statusCode: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"], body: body)
    }

    /// HEAD: GET's status and headers (its Content-Length included), no body.
    static func headersOnly(_ r: HTTPResponse) async throws -> HTTPResponse {
        var headers = r.headers
        headers[.contentLength] = String(try await r.bodyData.count)
        return HTTPResponse(statusCode: r.statusCode, headers: headers, body: Data())
    }
}
