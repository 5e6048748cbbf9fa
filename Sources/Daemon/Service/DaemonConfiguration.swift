import Engine
import Foundation
import Queue
import Wire

/// Everything `mdd serve` needs, from flags and an optional JSON config file (flags win).
struct DaemonConfiguration: Sendable {
    var stateDir: String
    var socketPath: String
    var modelPath: String
    var outputDir: String
    var workers = 1
    /// `workers: "auto"` (the default unless `workers` or `blas_threads` is given): measure the workers ×
    /// BLAS-threads split at start-up (see `WorkerSplit.chooseAtStartup`); `workers` and `blasThreads` then hold
    /// the choice.
    var autoWorkers = true
    /// Engine threads per render (`BLAS.threads`; nil: OPENBLAS_NUM_THREADS or all cores). With several workers,
    /// 1 avoids oversubscribing the cores. The name is the historical one: OpenBLAS ran these threads itself.
    var blasThreads: Int?
    var leaseSeconds = 60.0
    var drainTimeoutSeconds = 120.0
    /// Extra uids/gids allowed on the socket besides the daemon's own uid and root.
    var allowedUIDs: [UInt32] = []
    var allowedGIDs: [UInt32] = []
    var logLevel = "info"
    /// zlib level of the PNGs (0–9): the default 1 is the fastest that still compresses; 9 makes ~20 % smaller
    /// files at ~5× the encode time.
    var pngCompression = 1
    /// Precision of the matrix products: `auto` measures fp32 against bf16 at start-up where the CPU multiplies bf16
    /// natively and keeps the faster (`PrecisionChoice`); fp32 elsewhere.
    var precision = PrecisionSetting.auto
    /// `HOST:PORT` of the read-only HTTP listener (`/metrics`, pages); nil: off.
    var http: String?
    /// Bearer token file for the HTTP listener; required beyond loopback (see `HTTPSettings`).
    var httpTokenFile: String?

    /// `--queue`: `sqlite:PATH` or `postgresql://…` (see `QueueSetting`); nil: `databasePath`.
    var queue: String?
    /// A libpq password file readable by the daemon only (config `queue_passfile`).
    var queuePassfile: String?
    /// Seconds after which PostgreSQL cancels one of the queue's statements (config `queue_statement_timeout`;
    /// 0: never). See `QueueOptions.statementTimeoutSeconds`.
    var queueStatementTimeout = QueueOptions().statementTimeoutSeconds
    /// This daemon's name in worker ids and the fleet (`--node`; default: the host name).
    var node = Daemon.hostname()

    var databasePath: String { stateDir + "/queue.sqlite" }

    /// Keys of the config file (JSON): state_dir, socket, model, output_dir, workers, blas_threads, lease_seconds,
    /// drain_timeout_seconds, allowed_uids, allowed_gids, log_level,
    /// png_compression, precision, http, http_token_file, queue, queue_passfile, queue_statement_timeout, node.
    static func load(file: String?, stateDir: String?, socket: String?, model: String?) throws -> DaemonConfiguration {
        var json: [String: Any] = [:]
        if let file {
            guard let data = FileManager.default.contents(atPath: file),
                  let obj = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
                throw ConfigError("\(file): cannot read a JSON object")
            }
            json = obj
        }
        func str(_ k: String) throws -> String? {
            guard let v = json[k] else { return nil }
            guard let s = v as? String else { throw ConfigError("\(file ?? "config"): '\(k)' must be a string") }
            return s
        }
        func num(_ k: String) throws -> Double? {
            guard let v = json[k] else { return nil }
            guard let n = v as? NSNumber else { throw ConfigError("\(file ?? "config"): '\(k)' must be a number") }
            return n.doubleValue
        }
        let state = try stateDir ?? str("state_dir") ?? DefaultPaths.stateDir()
        var c = DaemonConfiguration(
            stateDir: state,
            socketPath: try socket ?? str("socket") ?? DefaultPaths.socket(),
            modelPath: try ModelLocator.resolve(model ?? str("model")),
            outputDir: try str("output_dir") ?? state + "/outputs")
        var workers: WorkerSetting?
        if let w = json["workers"] {
            if let n = w as? NSNumber { workers = .count(n.intValue) } else if w as? String == "auto" { workers = .auto } else {
                throw ConfigError("\(file ?? "config"): 'workers' must be a number or \"auto\"")
            }
        }
        c.apply(workers: workers, blasThreads: try num("blas_threads").map { Int($0) })
        if c.autoWorkers && c.blasThreads != nil {
            throw ConfigError("\(file ?? "config"): 'blas_threads' is chosen by \"workers\": \"auto\"; give a number of workers to set it")
        }
        if let l = try num("lease_seconds") { c.leaseSeconds = l }
        if let d = try num("drain_timeout_seconds") { c.drainTimeoutSeconds = d }
        c.allowedUIDs = (json["allowed_uids"] as? [NSNumber])?.map(\.uint32Value) ?? []
        c.allowedGIDs = (json["allowed_gids"] as? [NSNumber])?.map(\.uint32Value) ?? []
        if let l = try str("log_level") { c.logLevel = l }
        if let p = try num("png_compression") { c.pngCompression = Int(p) }
        if let p = try str("precision") {
            guard let setting = PrecisionSetting(rawValue: p) else {
                throw ConfigError("\(file ?? "config"): 'precision' must be \"auto\", \"fp32\" or \"bf16\", got \"\(p)\"")
            }
            c.precision = setting
        }
        c.http = try str("http")
        c.httpTokenFile = try str("http_token_file")
        c.queue = try str("queue")
        c.queuePassfile = try str("queue_passfile")
        if let t = try num("queue_statement_timeout") { c.queueStatementTimeout = t }
        if let n = try str("node") { c.node = n }
        guard (1...16).contains(c.workers) else { throw ConfigError("workers must be 1…16, got \(c.workers)") }
        if let t = c.blasThreads, !(1...256).contains(t) { throw ConfigError("blas_threads must be 1…256, got \(t)") }
        guard (0...9).contains(c.pngCompression) else { throw ConfigError("png_compression must be 0…9, got \(c.pngCompression)") }
        guard c.leaseSeconds >= 1 else { throw ConfigError("lease_seconds must be ≥ 1") }
        guard c.queueStatementTimeout >= 0 else { throw ConfigError("queue_statement_timeout must be ≥ 0 (0: no limit)") }
        return c
    }
}

/// How many render workers: a number, or measured at start-up.
enum WorkerSetting: Equatable {
    case count(Int)
    case auto
}

extension DaemonConfiguration {
    /// One layer of worker settings (the config file, then the flags over it): a number turns measuring off,
    /// "auto" turns it on, and BLAS threads given without workers mean no measuring (the workers stay as they are).
    /// Callers refuse "auto" with BLAS threads, which the measurement chooses.
    mutating func apply(workers setting: WorkerSetting?, blasThreads threads: Int?) {
        switch setting {
        case .count(let n)?: workers = n; autoWorkers = false
        case .auto?: autoWorkers = true
        case nil: break
        }
        if let threads {
            blasThreads = threads
            if setting == nil { autoWorkers = false }
        }
    }
}

struct ConfigError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
