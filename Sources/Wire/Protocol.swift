import Foundation

/// The control protocol shared by `mdd` and `mdctl`: length-prefixed JSON messages over a Unix socket.
///
/// Frame: 4-byte big-endian length, then that many bytes of UTF-8 JSON. A request is
/// `{"v": 1, "id": N, "kind": K, "body": {...}}`; the reply carries the same id and either `"ok": true` with a
/// body, or `"ok": false` with `{"code", "message"}`. Unknown kinds, other versions, malformed JSON and frames
/// over `maxMessageBytes` get an error reply; the server never crashes on input.
public enum WireProtocol {
    public static let version = 1
    /// Largest frame either side accepts (a 50,000-job submit chunk is ~10 MB).
    public static let maxMessageBytes = 32 << 20
}

/// Request kinds, one handler each in the daemon.
public enum RequestKind: String, Codable, CaseIterable, Sendable {
    case submit, status, list, show, cancel, retry, pause, resume, stats, export, workers, health, shutdown, backup, prune
    case contactSheet = "contact_sheet"
}

/// Error codes in replies; mdctl maps them to exit codes.
public enum WireErrorCode: String, Codable, Sendable {
    case badRequest = "bad_request", unsupportedVersion = "unsupported_version", tooLarge = "too_large"
    case unknownKind = "unknown_kind", notFound = "not_found", invalid = "invalid", forbidden = "forbidden"
    case internalError = "internal", shuttingDown = "shutting_down"
}

public struct WireError: Codable, Error, Sendable, Equatable, CustomStringConvertible {
    public var code: WireErrorCode
    public var message: String
    /// For an invalid job of a submit: its 0-based index in the whole submission (`start_index` counted) and what
    /// is wrong without the "job N:" prefix, so that mdctl can name the file and line instead.
    public var jobIndex: Int?
    public var jobProblem: String?
    public init(_ code: WireErrorCode, _ message: String, jobIndex: Int? = nil, jobProblem: String? = nil) {
        self.code = code
        self.message = message
        self.jobIndex = jobIndex
        self.jobProblem = jobProblem
    }
    public var description: String { message }
}

/// The fields every request has, decoded first to pick the body type (and to answer malformed requests).
public struct RequestHeader: Decodable, Sendable {
    public var v: Int?
    public var id: Int?
    public var kind: String?
}

/// A request with its typed body. Bodies are decoded straight from the frame (no intermediate JSON tree), so
/// 63-bit seeds keep every bit.
public struct Request<Body: Codable & Sendable>: Codable, Sendable {
    public var v: Int
    public var id: Int
    public var kind: String
    public var body: Body
    public init(id: Int, kind: RequestKind, body: Body) {
        self.v = WireProtocol.version
        self.id = id
        self.kind = kind.rawValue
        self.body = body
    }
}

/// The fields every reply has.
public struct ResponseHeader: Decodable, Sendable {
    public var v: Int?
    public var id: Int?
    public var ok: Bool
    public var error: WireError?
}

/// A reply with its typed body (absent on errors).
public struct Response<Body: Codable & Sendable>: Codable, Sendable {
    public var v: Int
    public var id: Int
    public var ok: Bool
    public var body: Body?
    public var error: WireError?

    public static func success(id: Int, _ body: Body) -> Response {
        Response(v: WireProtocol.version, id: id, ok: true, body: body, error: nil)
    }
}

/// An error reply (no body).
public struct ErrorResponse: Codable, Sendable {
    public var v = WireProtocol.version
    public var id: Int
    public var ok = false
    public var error: WireError
    public init(id: Int, error: WireError) {
        self.id = id
        self.error = error
    }
}

/// A request body with no fields.
public struct Empty: Codable, Sendable, Equatable {
    public init() {}
}

/// Encoding helpers: every wire type is Codable with snake_case keys.
public enum WireCoding {
    public static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.outputFormatting = [.sortedKeys]
        return e
    }

    public static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        return d
    }
}
