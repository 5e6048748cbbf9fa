import Foundation
import XCTest
import Wire

/// Runs the real `mdd` and `mdctl` binaries on a temporary state dir and socket.
final class DaemonHarness {
    let dir: String
    let stateDir: String
    let socket: String
    let model: String
    let binDir: String
    private(set) var process: Process?
    /// Every daemon this harness started (restarts included), killed at teardown.
    private var started: [Process] = []
    private var logPath: String { dir + "/mdd.log" }

    init(test: XCTestCase, model: String? = nil) throws {
        // Unix socket paths are limited to 107 bytes: keep the temp dir short.
        dir = "/tmp/mdd-t-" + String(UUID().uuidString.prefix(8))
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        stateDir = dir + "/state"
        socket = dir + "/run/mdd.sock"
        binDir = Self.productsDir()
        self.model = model ?? Self.fixtureModel("md8-tiny")
        let d = dir
        // Strong capture: the harness may be gone by teardown, but its daemons must not outlive the test.
        test.addTeardownBlock { [self] in
            for p in started where p.isRunning {
                Foundation.kill(p.processIdentifier, SIGKILL)
                p.waitUntilExit()
            }
            try? FileManager.default.removeItem(atPath: d)
        }
    }

    static func productsDir() -> String {
        // The test bundle lives in the build products folder beside the executables.
        for b in Bundle.allBundles where b.bundlePath.hasSuffix(".xctest") {
            return (b.bundlePath as NSString).deletingLastPathComponent
        }
        return (CommandLine.arguments[0] as NSString).deletingLastPathComponent
    }

    static func fixtureModel(_ name: String) -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent("EngineTests/Fixtures/models/\(name)").path
    }

    /// Starts `mdd serve` and waits until `mdctl health` answers. One worker unless `extra` says otherwise or
    /// `oneWorker` is false (the daemon's default, `--workers auto`, measures at start-up and makes the worker
    /// count depend on the machine). `environment` is added to the daemon's (e.g. `MDD_KILL_AT`). Each start
    /// begins a fresh `log()`; `allLogs()` keeps what every daemon of the test wrote.
    @discardableResult
    func start(_ extra: [String] = [], oneWorker: Bool = true, environment: [String: String] = [:], launcher: [String] = []) throws -> Process {
        let p = Process()
        // `launcher` runs mdd through another program that execs it (e.g. `ip netns exec NS`), keeping its pid.
        p.executableURL = URL(fileURLWithPath: launcher.first ?? binDir + "/mdd")
        if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let workers = !oneWorker || extra.contains("--workers") ? [] : ["--workers", "1"]
        p.arguments = launcher.dropFirst() + (launcher.isEmpty ? [] : [binDir + "/mdd"])
            + ["serve", "--state-dir", stateDir, "--socket", socket, "--model", model] + workers + extra
        earlierLogs += log()
        guard FileManager.default.createFile(atPath: logPath, contents: nil) else { throw HarnessError("cannot create \(logPath)") }
        let log = FileHandle(forWritingAtPath: logPath)!
        log.seekToEndOfFile()
        p.standardError = log
        p.standardOutput = log
        try p.run()
        process = p
        started.append(p)
        try waitUntil(timeout: 60, "daemon ready") { [self] in
            guard p.isRunning else { throw HarnessError("mdd exited early: \(self.log())") }
            return ctl(["health"]).status == 0
        }
        return p
    }

    /// Waits for a daemon to exit, failing (and killing it) after `timeout` seconds instead of hanging the suite.
    func waitForExit(_ p: Process, timeout: Double = 60) throws {
        do {
            try waitUntil(timeout: timeout, "mdd to exit") { !p.isRunning }
        } catch {
            Foundation.kill(p.processIdentifier, SIGKILL)
            throw HarnessError("mdd did not exit within \(timeout) s: \(log().suffix(600))")
        }
        p.waitUntilExit()
    }

    func kill(_ signal: Int32) {
        guard let p = process, p.isRunning else { return }
        Foundation.kill(p.processIdentifier, signal)
        if signal == SIGKILL { p.waitUntilExit() }
    }

    func log() -> String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// The logs of every daemon this harness started, oldest first.
    func allLogs() -> String { earlierLogs + log() }
    private var earlierLogs = ""

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Runs mdctl with `--socket` and waits for it.
    @discardableResult
    func ctl(_ args: [String], stdin: String? = nil, asUID: UInt32? = nil) -> Result {
        var exe = binDir + "/mdctl", full = args + ["--socket", socket]
        if let uid = asUID {
            full = ["--reuid=\(uid)", "--regid=\(uid)", "--clear-groups", exe] + full
            exe = "/usr/bin/setpriv"
        }
        return run(exe, full, stdin: stdin)
    }

    /// Writes `contents` to `name` in the test folder and submits it with `mdctl submit -f` (plus `extra`).
    func submitFile(_ name: String, _ contents: String, _ extra: [String] = []) throws -> Result {
        let path = dir + "/" + name
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
        return ctl(["submit", "-f", path] + extra)
    }

    func mdd(_ args: [String]) -> Result { run(binDir + "/mdd", args) }

    func run(_ exe: String, _ args: [String], stdin: String? = nil, environment: [String: String] = [:]) -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = stdin == nil ? FileHandle.nullDevice : inp
        do { try p.run() } catch { return Result(status: -1, stdout: "", stderr: "\(error)") }
        if let stdin { inp.fileHandleForWriting.write(Data(stdin.utf8)); try? inp.fileHandleForWriting.close() }
        // Both pipes drain concurrently so that a chatty child cannot block on a full pipe.
        final class Box: @unchecked Sendable { var data = Data() }
        let o = Box(), e = Box()
        let g = DispatchGroup()
        g.enter(); DispatchQueue.global().async { o.data = out.fileHandleForReading.readDataToEndOfFile(); g.leave() }
        g.enter(); DispatchQueue.global().async { e.data = err.fileHandleForReading.readDataToEndOfFile(); g.leave() }
        p.waitUntilExit()
        g.wait()
        return Result(status: p.terminationStatus, stdout: String(decoding: o.data, as: UTF8.self), stderr: String(decoding: e.data, as: UTF8.self))
    }

    /// Decodes mdctl's `--json` output.
    func json<T: Decodable>(_ args: [String], as: T.Type) throws -> T {
        let r = ctl(args + ["--json"])
        guard r.status == 0 else { throw HarnessError("mdctl \(args) failed (\(r.status)): \(r.stderr)") }
        return try WireCoding.decoder().decode(T.self, from: Data(r.stdout.utf8))
    }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Polls `condition` until true (not a sleep-as-synchronisation: it waits on an observable state).
func waitUntil(timeout: Double, _ what: String, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return }
        usleep(20_000)
    }
    throw HarnessError("timed out waiting for \(what)")
}

extension ControlClient {
    /// The error reply to a request, or nil if it succeeded.
    func callError<Body: Codable & Sendable>(_ kind: RequestKind, _ body: Body) throws -> WireError? {
        do {
            _ = try call(kind, body, as: Empty.self)
            return nil
        } catch let e as WireError { return e }
    }
}
