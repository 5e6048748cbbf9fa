import Foundation

/// A private PostgreSQL server for the tests: `initdb` in a temp folder owned by the `postgres` user (initdb
/// refuses root), `pg_ctl` on a private port on 127.0.0.1 with its Unix socket in that folder, trust
/// authentication, fsync off. Never a system service. Started once per test process, stopped at exit.
/// (A library target shared by QueueTests and DaemonTests.)
public final class TestPostgres: @unchecked Sendable {
    /// The binaries of Debian's `postgresql` package (the newest installed major version).
    /// `MDD_TEST_PG_BIN` overrides the search (a folder without pg_ctl shows the SKIP path).
    static let binDir: String? = {
        if let forced = ProcessInfo.processInfo.environment["MDD_TEST_PG_BIN"] {
            return FileManager.default.isExecutableFile(atPath: forced + "/pg_ctl") ? forced : nil
        }
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted()
        return versions.reversed().map { "\(root)/\($0)/bin" }.first { FileManager.default.isExecutableFile(atPath: $0 + "/pg_ctl") }
    }()

    /// The one server, or the reason there is none (printed as a SKIP line by the tests).
    public static let shared: Result<TestPostgres, Error> = Result { try TestPostgres() }

    public let dir: String
    public let port: Int
    private let bin: String
    private let lock = NSLock()
    private var databases = 0
    /// The addresses the server listens on (see `listen(on:trusting:)`).
    private var listening = ["127.0.0.1"]

    private init() throws {
        guard let bin = Self.binDir else { throw Failure("no PostgreSQL server (apt-get install postgresql)") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/runuser") || FileManager.default.isExecutableFile(atPath: "/sbin/runuser") else {
            throw Failure("runuser missing: cannot run initdb as the postgres user")
        }
        self.bin = bin
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("mdd-pg-\(UUID().uuidString.prefix(8))").path
        port = 20_000 + Int(getpid() % 20_000)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Self.run("/bin/chown", ["postgres:postgres", dir])
        try asPostgres("initdb", ["-D", dir + "/data", "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"])
        try asPostgres("pg_ctl", ["-D", dir + "/data", "-l", dir + "/server.log", "-w", "-t", "60", "start", "-o", options(listen: ["127.0.0.1"])])
        atexit { if case .success(let pg) = TestPostgres.shared { pg.stop() } }
    }

    /// Restarts the server (fast shutdown: every client connection is cut), as an operator or a crash would.
    public func restart() throws {
        try asPostgres("pg_ctl", ["-D", dir + "/data", "-l", dir + "/server.log", "-m", "fast", "-w", "-t", "60", "restart"])
    }

    /// Stops the server (fast shutdown: every client connection is cut) and keeps it down until `start()`: an
    /// outage of a length the test chooses, where `restart` is over in a second.
    public func stopServer() throws {
        try asPostgres("pg_ctl", ["-D", dir + "/data", "-m", "fast", "-w", "-t", "60", "stop"])
    }

    /// Starts the server stopped by `stopServer`, on the addresses it listened on before.
    public func startServer() throws {
        let addresses = lock.withLock { listening }
        try asPostgres("pg_ctl", ["-D", dir + "/data", "-l", dir + "/server.log", "-w", "-t", "60", "start", "-o", options(listen: addresses)])
    }

    /// Restarts the server listening on `addresses` as well as 127.0.0.1, trusting clients from `network` (CIDR), for
    /// tests that reach it from network namespaces of their own. Kept for the rest of the test process (the next
    /// `restart` reuses the options; an address gone by then costs the server a warning, not its start).
    public func listen(on addresses: [String], trusting network: String) throws {
        let hba = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/data/pg_hba.conf"))
        hba.seekToEndOfFile()
        hba.write(Data("host all all \(network) trust\n".utf8))
        try hba.close()
        let all = lock.withLock { listening = ["127.0.0.1"] + addresses; return listening }
        try asPostgres("pg_ctl", ["-D", dir + "/data", "-l", dir + "/server.log", "-m", "fast", "-w", "-t", "60", "restart",
                                  "-o", options(listen: all)])
    }

    /// The server's command-line options: private port and socket folder, no fsync (a test server).
    private func options(listen: [String]) -> String {
        "-p \(port) -k \(dir) -c listen_addresses=\(listen.joined(separator: ",")) -c fsync=off -c max_connections=200"
    }

    /// Stops the server and removes its folder.
    func stop() {
        try? asPostgres("pg_ctl", ["-D", dir + "/data", "-m", "immediate", "-w", "stop"])
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// The URL of a database on this server (through the Unix socket in the temp folder).
    public func url(_ database: String) -> String { "postgresql://postgres@localhost:\(port)/\(database)?host=\(dir)" }

    /// A new, empty database; its URL.
    public func createDatabase() throws -> String {
        let name: String = lock.withLock { databases += 1; return "t\(getpid())_\(databases)" }
        try asPostgres("createdb", ["-h", dir, "-p", String(port), "-U", "postgres", name])
        return url(name)
    }

    private func asPostgres(_ tool: String, _ args: [String]) throws {
        try Self.run("/usr/sbin/runuser", ["-u", "postgres", "--", "\(bin)/\(tool)"] + args)
    }

    /// Runs a tool to its exit with posix_spawn and waitpid, output to a file. (Foundation's Process waits until
    /// every inherited descriptor closes, and the server that pg_ctl starts keeps them: it never returned.)
    private static func run(_ path: String, _ args: [String]) throws {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("mdd-pg-\(UUID().uuidString).out").path
        defer { unlink(log) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([path] + args).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid = pid_t()
        let rc = posix_spawn(&pid, path, &actions, nil, argv, environ)
        guard rc == 0 else { throw Failure("\(path): posix_spawn failed: \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        guard status == 0 else { throw Failure("\(path) \(args.joined(separator: " ")) exited with status \(status): \(text.suffix(600))") }
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        init(_ d: String) { description = d }
    }
}
