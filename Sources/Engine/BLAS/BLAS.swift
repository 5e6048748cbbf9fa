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
    typealias GetThreadsFn = @convention(c) () -> Int32

    /// The process-wide instance; loading failures are fatal for the engine and reported by `load()`.
    public static let shared: Result<BLAS, EngineError> = Result { try BLAS.load() }.mapError {
        $0 as? EngineError ?? .blas("\($0)")
    }

    let sgemm: SgemmFn
    private let corenameFn: CorenameFn?
    private let setThreadsFn: SetThreadsFn?
    private let getThreadsFn: GetThreadsFn?
    /// The library file that was opened.
    public let libraryPath: String
    /// Where the kernel choice came from: "user", "cpu-flags" or "openblas".
    public let coreSource: String

    private init(handle: UnsafeMutableRawPointer, path: String, coreSource: String) throws {
        guard let f = dlsym(handle, "cblas_sgemm") else { throw EngineError.blas("\(path) has no cblas_sgemm") }
        sgemm = unsafeBitCast(f, to: SgemmFn.self)
        corenameFn = dlsym(handle, "openblas_get_corename").map { unsafeBitCast($0, to: CorenameFn.self) }
        setThreadsFn = dlsym(handle, "openblas_set_num_threads").map { unsafeBitCast($0, to: SetThreadsFn.self) }
        getThreadsFn = dlsym(handle, "openblas_get_num_threads").map { unsafeBitCast($0, to: GetThreadsFn.self) }
        libraryPath = path
        self.coreSource = coreSource
        maxThreads = Int(getThreadsFn?() ?? 1)
        current = maxThreads
    }

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

    /// BLAS threads used by one large GEMM call.
    public var threads: Int {
        get { lock.withLock { maxThreads } }
        set {
            lock.withLock {
                maxThreads = max(1, newValue)
                current = maxThreads
            }
            setThreadsFn?(Int32(max(1, newValue)))
        }
    }

    /// Products below this many FLOPs run on one thread: waking OpenBLAS's other threads costs more than it
    /// saves on small matrices (measured: a 19 M-parameter UNet on 16x16 latents ran 5x slower on 2 threads).
    public var singleThreadBelowFlops = 1 << 24
    private var maxThreads = 1
    private var current = 1
    private let lock = NSLock()

    /// Sets OpenBLAS's thread count for a product of `flops`, calling into the library only on changes.
    @inline(__always)
    func useThreads(forFlops flops: Int) {
        let want = flops < singleThreadBelowFlops ? 1 : maxThreads
        if want != current {
            current = want
            setThreadsFn?(Int32(want))
        }
    }

    /// The shared instance, or a thrown `EngineError.blas`.
    public static func get() throws -> BLAS { try shared.get() }
}
