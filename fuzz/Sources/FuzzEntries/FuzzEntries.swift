import Engine
import Foundation
import Wire

/// One function per fuzz target: feeds the input to the entry point and ignores typed errors, so that only
/// traps, sanitizer reports, leaks and timeouts count as findings. The same inputs are replayed by
/// EngineTests/DaemonTests `FuzzReplayTests` from `fuzz/corpus/<target>/`.
public enum FuzzEntries {
    /// A scratch file per process for the parsers that read paths.
    static let scratch = NSTemporaryDirectory() + "/mdd-fuzz-\(getpid())"

    static func file(_ input: UnsafeBufferPointer<UInt8>, _ name: String) -> String {
        try? FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        let path = scratch + "/" + name
        FileManager.default.createFile(atPath: path, contents: Data(input))
        return path
    }

    /// The frame decoder over a socket pair (the whole input, then EOF).
    public static func frame(_ input: UnsafeBufferPointer<UInt8>) {
        guard input.count < 100_000 else { return }  // stays under the socket buffer: no writer thread needed
        var fds: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0 else { return }
        let reader = FramedSocket(fd: fds[0])
        _ = send(fds[1], input.baseAddress, input.count, Int32(MSG_NOSIGNAL))
        close(fds[1])
        reader.setReceiveTimeout(seconds: 1)
        while true {
            guard let frame = try? reader.receive() else { return }
            if case .message = frame { continue }
            return
        }
    }

    /// The router's request decoding: header, then each body type (as RequestRouter does for the kind named).
    public static func request(_ input: UnsafeBufferPointer<UInt8>) {
        let data = Data(input)
        let d = WireCoding.decoder()
        guard let header = try? d.decode(RequestHeader.self, from: data), header.kind.flatMap(RequestKind.init) != nil else { return }
        _ = try? d.decode(Request<SubmitRequest>.self, from: data)
        _ = try? d.decode(Request<StatusRequest>.self, from: data)
        _ = try? d.decode(Request<ListRequest>.self, from: data)
        _ = try? d.decode(Request<ShowRequest>.self, from: data)
        _ = try? d.decode(Request<TargetRequest>.self, from: data)
        _ = try? d.decode(Request<PauseRequest>.self, from: data)
        _ = try? d.decode(Request<ExportRequest>.self, from: data)
        _ = try? d.decode(Request<BackupRequest>.self, from: data)
        _ = try? d.decode(Request<ContactSheetRequest>.self, from: data)
        if let r = try? d.decode(Request<SubmitRequest>.self, from: data) {
            for job in r.body.jobs { _ = PromptText.problem(job.prompt) }
        }
    }

    /// The .txt, .jsonl and .csv parsers on the same bytes.
    public static func prompt(_ input: UnsafeBufferPointer<UInt8>) {
        for format in PromptFile.Format.allCases {
            let path = file(input, "prompts." + format.rawValue)
            try? PromptFile(path: path).forEach { _, job in _ = PromptText.problem(job.prompt) }
        }
    }

    public static func safetensors(_ input: UnsafeBufferPointer<UInt8>) {
        guard let f = try? SafetensorsFile(path: file(input, "model.safetensors")) else { return }
        for key in f.entries.keys { _ = try? f.floats(key) }
    }

    public static func config(_ input: UnsafeBufferPointer<UInt8>) {
        let path = file(input, "config.json")
        guard let c = try? ConfigReader(path: path) else { return }
        _ = try? UNetConfig(c)
        _ = try? CLIPTextModel.Config(c)
        _ = try? NoiseSchedule(c)
        _ = try? makeScheduler(configPath: path, steps: 2)
    }

    static let tokenizer = try? CLIPTokenizer.byteLevel()

    public static func tokenizer(_ input: UnsafeBufferPointer<UInt8>) {
        _ = tokenizer?.encode(String(decoding: input, as: UTF8.self))
    }

    public static func png(_ input: UnsafeBufferPointer<UInt8>) {
        let bytes = Array(input)
        _ = PNGCodec.textChunks(bytes)
        _ = try? PNGCodec.decode(bytes)
    }
}

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// The target `run` was given; libFuzzer calls back through a C function, which cannot capture it.
nonisolated(unsafe) private var current: (UnsafeBufferPointer<UInt8>) -> Void = { _ in }

/// libFuzzer's per-input callback (also the symbol `-sanitize=fuzzer` expects).
@_cdecl("LLVMFuzzerTestOneInput")
public func LLVMFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    if let data { current(UnsafeBufferPointer(start: data, count: count)) }
    return 0
}

extension FuzzEntries {
    /// Runs libFuzzer's driver with the process's arguments on `target`.
    public static func run(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>,
                           _ target: @escaping (UnsafeBufferPointer<UInt8>) -> Void) -> CInt {
        current = target
        var argc = argc, argv = argv
        return LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput)
    }
}
