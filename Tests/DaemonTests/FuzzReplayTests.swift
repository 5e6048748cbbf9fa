import Foundation
import FuzzCorpus
import XCTest
@testable import Daemon
import Wire

/// Replays the committed fuzz corpora (`fuzz/corpus/<target>/`, see `scripts/fuzz.sh`) through the parsers that
/// read what clients send: the frame decoder, the router's request decoding and the prompt files. Every input must
/// decode or fail with a typed error — never trap, never hang. Decode only: no daemon is started.
final class FuzzReplayTests: XCTestCase {
    private func timed(_ label: String, _ body: () throws -> Void) rethrows {
        let start = Date()
        try body()
        let seconds = Date().timeIntervalSince(start)
        XCTAssertLessThan(seconds, 5, "\(label) took \(seconds) s")
    }

    /// The bytes go into one end of a socket pair, closed after writing; the decoder reads frames until the end.
    func testFrameCorpus() throws {
        for (name, data) in try FuzzCorpus.load("frame") {
            try timed("frame/\(name)") {
                for frame in try FrameReplay.frames(data) { _ = frame }
            }
        }
    }

    func testRequestCorpus() throws {
        for (name, data) in try FuzzCorpus.load("request") {
            timed("request/\(name)") {
                do { try RequestDecoding.decode(data) } catch is DecodingError {} catch {
                    XCTFail("request/\(name): untyped error \(type(of: error)): \(error)")
                }
            }
        }
    }

    func testPromptFileCorpora() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mdd-fuzz-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for format in PromptFile.Format.allCases {
            let path = dir + "/prompts." + format.rawValue
            for (name, data) in try FuzzCorpus.load("prompt-\(format.rawValue)") {
                try data.write(to: URL(fileURLWithPath: path))
                timed("prompt-\(format.rawValue)/\(name)") {
                    do {
                        try PromptFile(path: path).forEach { line, job in
                            XCTAssertGreaterThan(line, 0)
                            // Refusing control characters is mdctl's and the daemon's job (SubmitCheck, SubmitHandler);
                            // the parser must only hand the text over exactly, without the byte-order mark.
                            if name == "bom" { XCTAssertFalse(job.prompt.hasPrefix("\u{FEFF}"), "\(name): BOM kept") }
                        }
                    } catch is PromptFile.ParseError {} catch {
                        XCTFail("prompt-\(format.rawValue)/\(name): untyped error \(type(of: error)): \(error)")
                    }
                }
            }
        }
    }
}

/// Feeds a byte stream to `FramedSocket.receive` through a socket pair.
enum FrameReplay {
    enum Outcome { case message(Data), tooLarge(Int), closed, error(WireError) }

    static func frames(_ data: Data) throws -> [Outcome] {
        var fds: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0 else { throw WireError(.internalError, "socketpair") }
        let reader = FramedSocket(fd: fds[0]), writer = FramedSocket(fd: fds[1])
        reader.setReceiveTimeout(seconds: 2)
        reader.frameTimeout = 2
        let writing = Thread {
            data.withUnsafeBytes { raw in
                var off = 0
                while off < raw.count {
                    let n = send(writer.fd, raw.baseAddress! + off, raw.count - off, Int32(MSG_NOSIGNAL))
                    if n <= 0 { break }
                    off += n
                }
            }
            shutdown(writer.fd, Int32(SHUT_WR))
        }
        writing.start()
        var out: [Outcome] = []
        while true {
            do {
                switch try reader.receive() {
                case .message(let m): out.append(.message(m))
                case .tooLarge(let n): out.append(.tooLarge(n)); return out
                case .closed: out.append(.closed); return out
                }
            } catch let e as WireError {
                out.append(.error(e))
                return out
            }
        }
    }
}

/// The router's decoding without a daemon: the header, then the typed body its kind names (one exhaustive switch,
/// as in `RequestRouter.handle`).
enum RequestDecoding {
    static func decode(_ data: Data) throws {
        let header = try WireCoding.decoder().decode(RequestHeader.self, from: data)
        guard let name = header.kind, let kind = RequestKind(rawValue: name) else { return }
        func body<B: Codable & Sendable>(_: B.Type) throws { _ = try WireCoding.decoder().decode(Request<B>.self, from: data) }
        switch kind {
        case .submit: try body(SubmitRequest.self)
        case .status: try body(StatusRequest.self)
        case .list: try body(ListRequest.self)
        case .show: try body(ShowRequest.self)
        case .cancel, .retry: try body(TargetRequest.self)
        case .pause, .resume: try body(PauseRequest.self)
        case .stats: try body(StatusRequest.self)
        case .export: try body(ExportRequest.self)
        case .workers, .health: try body(Empty.self)
        case .shutdown: try body(ShutdownRequest.self)
        case .backup: try body(BackupRequest.self)
        case .prune: try body(PruneRequest.self)
        case .contactSheet: try body(ContactSheetRequest.self)
        }
    }
}
