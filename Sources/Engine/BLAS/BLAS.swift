import Foundation

/// OpenBLAS, loaded with `dlopen` after `OPENBLAS_CORETYPE` is chosen.
///
/// OpenBLAS picks its kernel in a library constructor, before `main` runs, so setting the variable in
/// `main` is too late for a link-time dependency. Loading the library ourselves makes the choice ours in
/// every process (binaries and the test runner alike). Override with `MDD_BLAS_CORETYPE` or by setting
/// `OPENBLAS_CORETYPE` yourself.
public final class BLAS: @unchecked Sendable {
    typealias SgemmFn = @convention(c) (
        Int32, Int32, Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32,
        UnsafePointer<Float>?, Int32, Float, UnsafeMutablePointer<Float>?, Int32
    ) -> Void
    typealias CorenameFn = @convention(c) () -> UnsafeMutablePointer<CChar>?
    typealias SetThreadsFn = @convention(c) (Int32) -> Void

    /// The process-wide instance; loading failures are fatal for the engine and reported by `load()`.
    public static let shared: Result<BLAS, EngineError> = Result { try BLAS.load() }.mapError {
        $0 as? EngineError ?? .blas("\($0)")
    }

    let sgemm: SgemmFn
    private let corenameFn: CorenameFn?
    private let setThreadsFn: SetThreadsFn?
    /// The library file that was opened.
    public let libraryPath: String
    /// Where the kernel choice came from: "user", "cpu-flags" or "openblas".
    public let coreSource: String

    private init(handle: UnsafeMutableRawPointer, path: String, coreSource: String) throws {
        guard let f = dlsym(handle, "cblas_sgemm") else { throw EngineError.blas("\(path) has no cblas_sgemm") }
        sgemm = unsafeBitCast(f, to: SgemmFn.self)
        corenameFn = dlsym(handle, "openblas_get_corename").map { unsafeBitCast($0, to: CorenameFn.self) }
        setThreadsFn = dlsym(handle, "openblas_set_num_threads").map { unsafeBitCast($0, to: SetThreadsFn.self) }
        libraryPath = path
        self.coreSource = coreSource
        budget = BLAS.defaultThreads
        // OpenBLAS runs single-threaded: the engine's pool splits products itself (OpenBLAS's own threads spin in
        // sched_yield between calls, on the cores the engine's other kernels need).
        setThreadsFn?(1)
    }

    nonisolated(unsafe) private static var defaultThreads = 1

    static func load() throws -> BLAS {
        let env = ProcessInfo.processInfo.environment
        var source = "openblas"
        if let forced = env["MDD_BLAS_CORETYPE"], !forced.isEmpty {
            setenv("OPENBLAS_CORETYPE", forced, 1)
            source = "user"
        } else if env["OPENBLAS_CORETYPE"] != nil {
            source = "user"
        } else if let core = CPUFeatures.current().preferredOpenBLASCore {
            setenv("OPENBLAS_CORETYPE", core, 1)
            source = "cpu-flags"
        }
        // Read before OpenBLAS is told to start no threads of its own (its constructor reads the variable).
        defaultThreads = Int(env["OPENBLAS_NUM_THREADS"] ?? "").flatMap { $0 > 0 ? $0 : nil }
            ?? ProcessInfo.processInfo.activeProcessorCount
        setenv("OPENBLAS_NUM_THREADS", "1", 1)
        let candidates = [env["MDD_BLAS_LIBRARY"], "libopenblas.so.0", "libopenblas.so", "libopenblasp.so.0"]
        var errors: [String] = []
        for case let name? in candidates {
            if let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) {
                return try BLAS(handle: handle, path: name, coreSource: source)
            }
            errors.append(String(cString: dlerror()))
        }
        throw EngineError.blas("cannot load OpenBLAS (apt-get install libopenblas0-pthread): " + errors.joined(separator: "; "))
    }

    /// The kernel OpenBLAS runs, e.g. "Zen", "Cooperlake", "Prescott".
    public var coreName: String {
        guard let f = corenameFn, let p = f() else { return "unknown" }
        return String(cString: p)
    }

    /// Threads one render uses: the engine splits its GEMMs (`GEMM.sgemm`) and other kernels (`Parallel`) over
    /// them, and OpenBLAS runs single-threaded inside each slice. Default: `OPENBLAS_NUM_THREADS` if set, else
    /// the cores this process may run on.
    public var threads: Int {
        get { lock.withLock { budget } }
        set { lock.withLock { budget = max(1, newValue) } }
    }

    /// Products below this many FLOPs run on the calling thread alone. Measured (`mdd bench`, default model, 2
    /// threads, UNet median of 5 interleaved runs): 2^18 → 17.8 ms, 2^20 → 17.7, 2^22 → 19.6, 2^24 (the old
    /// single-thread cut-off) → 21.2. Override with MDD_GEMM_SPLIT_FLOPS (tuning).
    public var splitFromFlops: Int = {
        if let s = ProcessInfo.processInfo.environment["MDD_GEMM_SPLIT_FLOPS"], let v = Int(s), v > 0 { return v }
        return 1 << 20
    }()
    private var budget = 1
    private let lock = NSLock()

    /// The shared instance, or a thrown `EngineError.blas`.
    public static func get() throws -> BLAS { try shared.get() }
}
