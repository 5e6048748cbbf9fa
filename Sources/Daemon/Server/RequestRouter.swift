import Foundation
import Logging
import Queue
import Wire

/// Decodes one request frame, dispatches it by kind (one exhaustive switch) and encodes the reply.
/// Every failure becomes an error reply: malformed JSON, another protocol version, an unknown kind, a bad body.
struct RequestRouter: Sendable {
    let context: DaemonContext

    func handle(_ data: Data) throws -> Data {
        let enc = WireCoding.encoder()
        guard let header = try? WireCoding.decoder().decode(RequestHeader.self, from: data) else {
            return try enc.encode(ErrorResponse(id: 0, error: WireError(.badRequest, "request is not a JSON object with v, id and kind")))
        }
        let id = header.id ?? 0
        guard header.v == WireProtocol.version else {
            return try enc.encode(ErrorResponse(id: id, error: WireError(.unsupportedVersion, "protocol version \(header.v.map(String.init) ?? "missing") is not supported (this daemon speaks \(WireProtocol.version))")))
        }
        guard let kindName = header.kind, let kind = RequestKind(rawValue: kindName) else {
            return try enc.encode(ErrorResponse(id: id, error: WireError(.unknownKind, "unknown request kind '\(header.kind ?? "")' (known: \(RequestKind.allCases.map(\.rawValue).joined(separator: ", ")))")))
        }
        do {
            switch kind {
            case .submit: return try reply(id, data, SubmitHandler.handle)
            case .status: return try reply(id, data, StatusHandler.handle)
            case .list: return try reply(id, data, ListHandler.handle)
            case .show: return try reply(id, data, ShowHandler.handle)
            case .cancel: return try reply(id, data, CancelHandler.handle)
            case .retry: return try reply(id, data, RetryHandler.handle)
            case .pause: return try reply(id, data) { (r: PauseRequest, c) in try PauseHandler.handle(r, c, paused: true) }
            case .resume: return try reply(id, data) { (r: PauseRequest, c) in try PauseHandler.handle(r, c, paused: false) }
            case .stats: return try reply(id, data, StatsHandler.handle)
            case .export: return try reply(id, data, ExportHandler.handle)
            case .workers: return try reply(id, data, WorkersHandler.handle)
            case .health: return try reply(id, data, HealthHandler.handle)
            case .shutdown: return try reply(id, data, ShutdownHandler.handle)
            case .backup: return try reply(id, data, BackupHandler.handle)
            case .prune: return try reply(id, data, PruneHandler.handle)
            case .contactSheet: return try reply(id, data, ContactSheetHandler.handle)
            }
        } catch let e as WireError {
            return try enc.encode(ErrorResponse(id: id, error: e))
        } catch let e as QueueError {
            return try enc.encode(ErrorResponse(id: id, error: Self.wireError(e)))
        } catch let e as DecodingError {
            return try enc.encode(ErrorResponse(id: id, error: WireError(.badRequest, "invalid \(kind.rawValue) request body: \(Self.describe(e))")))
        } catch {
            context.log.error("request \(kind.rawValue) failed: \(error)")
            return try enc.encode(ErrorResponse(id: id, error: WireError(.internalError, "\(error)")))
        }
    }

    /// Decodes the typed body, runs the handler and encodes its reply.
    private func reply<Body: Codable & Sendable, Reply: Codable & Sendable>(
        _ id: Int, _ data: Data, _ handler: (Body, DaemonContext) throws -> Reply
    ) throws -> Data {
        let request = try WireCoding.decoder().decode(Request<Body>.self, from: data)
        return try WireCoding.encoder().encode(Response.success(id: id, try handler(request.body, context)))
    }

    static func wireError(_ e: QueueError) -> WireError {
        switch e {
        case .unknownBatch, .unknownJob: return WireError(.notFound, e.description)
        case let .invalidJob(index, field, reason): return WireError(.invalid, e.description, jobIndex: index, jobProblem: "\(field): \(reason)")
        case .invalidBatch, .invalidPrune, .backup: return WireError(.invalid, e.description)
        case .closed: return WireError(.shuttingDown, e.description)
        default: return WireError(.internalError, e.description)
        }
    }

    static func describe(_ e: DecodingError) -> String {
        switch e {
        case .keyNotFound(let k, let c): return "missing field '\((c.codingPath + [k]).map(\.stringValue).joined(separator: "."))'"
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c):
            return "field '\(c.codingPath.map(\.stringValue).joined(separator: "."))': \(c.debugDescription)"
        @unknown default: return "\(e)"
        }
    }
}
