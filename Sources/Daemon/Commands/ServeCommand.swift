import ArgumentParser
import Engine
import Foundation
import Logging

/// `mdd serve`: the daemon in the foreground (systemd runs it as Type=notify).
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the rendering daemon in the foreground.")

    @Option(name: .customLong("state-dir"), help: "Queue database and outputs (default: $XDG_STATE_HOME/mdd, /var/lib/mdd as root).") var stateDir: String?
    @Option(help: "Control socket (default: $MDD_SOCKET, $XDG_RUNTIME_DIR/mdd/mdd.sock, /run/mdd/mdd.sock as root).") var socket: String?
    @Option(help: "diffusers-format model folder (default: the embedded model).") var model: String?
    @Option(help: "JSON config file (keys: state_dir, socket, model, output_dir, workers, blas_threads, lease_seconds, drain_timeout_seconds, allowed_uids, allowed_gids, log_level, png_compression, precision, http, http_token_file, queue, queue_passfile, queue_statement_timeout, node; workers may be \"auto\").") var config: String?
    @Option(help: "The job queue: sqlite:PATH (default: <state-dir>/queue.sqlite) or postgresql://USER@HOST:PORT/DBNAME, shared by a fleet of daemons (password from PGPASSWORD, ~/.pgpass or the config's queue_passfile, never in the URL).")
    var queue: String?
    @Option(name: .customLong("queue-statement-timeout"), help: "PostgreSQL queue: seconds after which the server cancels a statement, e.g. one stuck on a lock held elsewhere (default: 60; 0: no limit).")
    var queueStatementTimeout: Double?
    @Option(name: .customLong("output-dir"), help: "Where the PNGs go (default: <state-dir>/outputs); a fleet shares one folder (NFS and the like).")
    var outputDir: String?
    @Option(help: "This daemon's name in worker ids and the fleet (default: the host name).")
    var node: String?
    @Option(help: "Render workers (sharing one copy of the model), or \"auto\": measure the split of the cores into workers × BLAS threads at start-up (as `mdd tune`) and use the fastest. Default: auto, or 1 when --blas-threads is given.") var workers: String?
    @Option(name: .customLong("blas-threads"), help: "Threads per render: the engine splits its matrix products and kernels over them (default: all cores).") var blasThreads: Int?
    @Option(name: .customLong("lease-seconds"), help: "Lease length; renewed while rendering.") var leaseSeconds: Double?
    @Option(name: .customLong("drain-timeout"), help: "Seconds a graceful stop waits for running jobs before releasing them.") var drainTimeout: Double?
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error, critical.") var logLevel: String?
    @Option(help: "Precision of the matrix products: auto (where the CPU multiplies bf16 natively, measure fp32 against bf16 at start-up and keep the faster; else fp32), fp32, or bf16 (emulated, slower, without native BF16).")
    var precision: PrecisionSetting?
    @Option(help: "Serve /metrics and the status pages over HTTP at HOST:PORT (read-only; off by default). Beyond loopback, --http-token-file is required.")
    var http: String?
    @Option(name: .customLong("http-token-file"), help: "File whose first line is the bearer token HTTP clients must send (mode 600, owned by the daemon's user).")
    var httpTokenFile: String?

    func run() throws {
        var c: DaemonConfiguration
        do {
            c = try DaemonConfiguration.load(file: config, stateDir: stateDir, socket: socket, model: model)
        } catch {
            throw CommandFailure(message: "\(error)")
        }
        var setting: WorkerSetting?
        if let workers {
            if workers == "auto" { setting = .auto } else if let n = Int(workers) { setting = .count(n) } else {
                throw ValidationError("--workers must be a number or \"auto\", got \"\(workers)\"")
            }
        }
        c.apply(workers: setting, blasThreads: blasThreads)
        if c.autoWorkers && c.blasThreads != nil { throw ValidationError("--blas-threads is chosen by --workers auto; give a number of workers to set it") }
        guard (1...16).contains(c.workers) else { throw ValidationError("--workers must be 1…16, got \(c.workers)") }
        if let leaseSeconds { c.leaseSeconds = leaseSeconds }
        if let drainTimeout { c.drainTimeoutSeconds = drainTimeout }
        if let logLevel { c.logLevel = logLevel }
        if let precision { c.precision = precision }
        if let http { c.http = http }
        if let httpTokenFile { c.httpTokenFile = httpTokenFile }
        try applyFleetOptions(&c)
        let level = Logger.Level(rawValue: c.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        let log = Logger(label: "mdd")
        do {
            let status = try Daemon(configuration: c, log: log).run()
            // _exit, not exit: a render abandoned by a forced stop may be inside OpenBLAS, whose exit-time
            // destructor then waits on it forever. Everything durable is already committed or fsynced.
            fflush(nil)
            _exit(status)
        } catch {
            log.critical("cannot start: \(error)")
            fflush(nil)
            _exit(1)
        }
    }
}
