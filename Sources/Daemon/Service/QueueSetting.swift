import Foundation
import Queue

/// Where the daemon's queue lives (`mdd serve --queue`, config key `queue`): an SQLite file of its own, or a
/// PostgreSQL database shared by a fleet of daemons.
enum QueueSetting: Equatable, Sendable {
    /// `sqlite:PATH`; the default is `<state-dir>/queue.sqlite`.
    case sqlite(path: String)
    /// `postgresql://USER@HOST:PORT/DBNAME` (libpq URI syntax), never with a password in it.
    case postgres(url: String)

    /// Parses a `--queue` value; nil means the SQLite file in the state directory.
    static func parse(_ value: String?, stateDir: String) throws -> QueueSetting {
        guard let value else { return .sqlite(path: stateDir + "/queue.sqlite") }
        if value.hasPrefix("sqlite:") {
            let path = String(value.dropFirst("sqlite:".count))
            guard !path.isEmpty else { throw ConfigError("queue: 'sqlite:' needs a path, e.g. sqlite:/var/lib/mdd/queue.sqlite") }
            return .sqlite(path: path)
        }
        if value.hasPrefix("postgresql://") || value.hasPrefix("postgres://") {
            do { try PostgresJobStore.refusePassword(in: value) } catch { throw ConfigError("queue: \(error)") }
            return .postgres(url: value)
        }
        throw ConfigError("queue: expected sqlite:PATH or postgresql://USER@HOST:PORT/DBNAME, got '\(value.prefix(40))'")
    }

    /// Opens the store. `passfile` (config `queue_passfile`) is a libpq password file that only the daemon's user
    /// may read; it is handed to libpq as PGPASSFILE, so the password is never on a command line or in a URL.
    func open(options: QueueOptions, passfile: String?) throws -> any JobQueue {
        switch self {
        case .sqlite(let path):
            return try JobStore(path: path, options: options)
        case .postgres(let url):
            if let passfile { try Self.usePassfile(passfile) }
            return try PostgresJobStore(url: url, options: options)
        }
    }

    /// Refuses a password file that others could read (libpq would silently ignore it), then points libpq at it.
    static func usePassfile(_ path: String) throws {
        var st = stat()
        guard stat(path, &st) == 0 else { throw ConfigError("queue_passfile \(path): \(String(cString: strerror(errno)))") }
        guard st.st_uid == geteuid(), st.st_mode & 0o077 == 0 else {
            throw ConfigError("queue_passfile \(path): must be owned by the daemon's user and readable by it only (chmod 600)")
        }
        setenv("PGPASSFILE", path, 1)
    }

    /// Node names go into worker ids (`NODE:PID:wN`) and file names: letters, digits, '-', '_' and '.' only.
    static func validateNode(_ node: String) throws {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_."))
        guard !node.isEmpty, node.utf8.count <= 64, node.unicodeScalars.allSatisfy(allowed.contains) else {
            throw ConfigError("node: use 1–64 letters, digits, '-', '_' or '.', got '\(node.prefix(64))'")
        }
    }
}
