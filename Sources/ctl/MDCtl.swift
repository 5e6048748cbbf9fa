import ArgumentParser
import Foundation
import Wire

/// `mdctl`: controls a running `mdd` over its Unix socket.
@main
struct MDCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mdctl",
        abstract: "Control the mdd rendering daemon.",
        discussion: """
            The socket is --socket PATH (before or after the verb), $MDD_SOCKET, $XDG_RUNTIME_DIR/mdd/mdd.sock, \
            or /run/mdd/mdd.sock as root.

            Exit codes: 0 ok, 1 error, 3 daemon not reachable, 4 not found, 5 invalid input (nothing submitted), \
            6 permission denied, 7 (wait, submit --wait) some jobs failed or were canceled, 64 usage.

            Example: mdctl submit -f prompts.txt --batch cats --seed 1000 --wait
            """,
        version: MDDVersion.current,
        subcommands: [Submit.self, Status.self, Ls.self, Show.self, Watch.self, Wait.self, Cancel.self, Retry.self,
                      Pause.self, Resume.self, Stats.self, Export.self, Workers.self, Health.self, Backup.self, Prune.self,
                      Shutdown.self, ContactSheetCommand.self])

    /// ArgumentParser only sees options after the verb; `--socket` may come first, so it is lifted out here.
    static func main() {
        var args = Array(CommandLine.arguments.dropFirst())
        if let i = args.firstIndex(where: { $0 == "--socket" }), i + 1 < args.count {
            GlobalOptions.liftedSocket = args[i + 1]
            args.removeSubrange(i...(i + 1))
        } else if let i = args.firstIndex(where: { $0.hasPrefix("--socket=") }) {
            GlobalOptions.liftedSocket = String(args[i].dropFirst("--socket=".count))
            args.remove(at: i)
        }
        do {
            var command = try parseAsRoot(args)
            try command.run()
        } catch let e as CtlFailure {
            FileHandle.standardError.write(Data("mdctl: \(e.message)\n".utf8))
            Foundation.exit(e.code.rawValue)
        } catch {
            exit(withError: error)
        }
    }
}

/// Options every verb takes.
struct GlobalOptions: ParsableArguments {
    nonisolated(unsafe) static var liftedSocket: String?

    @Option(help: "Control socket path.") var socket: String?
    @Flag(help: "Print JSON instead of tables.") var json = false

    var socketPath: String { socket ?? Self.liftedSocket ?? DefaultPaths.socket() }

    /// Connects, turning "nothing listens" into a helpful message and exit code 3.
    func client() throws -> ControlClient {
        do {
            return try ControlClient(path: socketPath)
        } catch let e as ConnectError {
            throw CtlFailure(.unreachable, "daemon not running at \(e.path) (\(String(cString: strerror(e.code)))) — start it with `mdd serve` or `systemctl start mdd`")
        }
    }

    /// One request/reply, mapping wire errors to exit codes.
    func call<B: Codable & Sendable, R: Codable & Sendable>(_ kind: RequestKind, _ body: B, as: R.Type) throws -> R {
        let c = try client()
        return try Self.map { try c.call(kind, body, as: R.self) }
    }

    static func map<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as WireError {
            let code: ExitCode = switch e.code {
            case .notFound: .notFound
            case .invalid, .badRequest, .tooLarge: .invalid
            case .forbidden: .forbidden
            default: .failure
            }
            throw CtlFailure(code, e.message, wire: e)
        }
    }

    func printJSON<T: Encodable>(_ value: T) throws {
        let enc = WireCoding.encoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        print(String(decoding: try enc.encode(value), as: UTF8.self))
    }
}

/// Stable exit codes.
enum ExitCode: Int32 {
    case failure = 1, unreachable = 3, notFound = 4, invalid = 5, forbidden = 6, jobsFailed = 7
}

struct CtlFailure: Error {
    let code: ExitCode
    let message: String
    /// The daemon's error reply this failure came from, if any.
    let wire: WireError?
    init(_ code: ExitCode, _ message: String, wire: WireError? = nil) {
        self.code = code
        self.message = message
        self.wire = wire
    }
}
