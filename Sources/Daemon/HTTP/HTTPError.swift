/// Errors of the HTTP listener: bad settings refuse start-up, with the flag or file at fault named.
enum HTTPError: Error, CustomStringConvertible {
    case badAddress(String)
    case tokenRequired(host: String)
    case tokenFile(path: String, reason: String)
    case bindFailed(address: String, reason: String)
    case thumbnail(path: String, reason: String)

    var description: String {
        switch self {
        case .badAddress(let a): return "--http: expected HOST:PORT (IPv4, [IPv6] or localhost), got \"\(a)\""
        case .tokenRequired(let host):
            return "--http \(host) is not a loopback address: set http_token_file (--http-token-file) to a file only this user can read"
        case .tokenFile(let path, let reason): return "http_token_file \(path): \(reason)"
        case .bindFailed(let address, let reason): return "--http \(address): cannot listen: \(reason)"
        case .thumbnail(let path, let reason): return "thumbnail \(path): \(reason)"
        }
    }
}
