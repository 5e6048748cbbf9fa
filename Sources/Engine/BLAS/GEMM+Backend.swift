import Foundation

extension GEMM {
    /// Which library multiplies fp32 blocks.
    public enum FP32Backend: String, Sendable { case openblas, onednn }

    /// The fp32 backend and why: `MDD_FP32_BACKEND=openblas|onednn` if set; else, where oneDNN's kernels use AVX-512,
    /// the faster of the two on a few single-threaded products of the engine's typical shapes (`FP32BackendChoice`);
    /// else OpenBLAS (AVX2 machines keep the path they had). A PNG rendered through oneDNN fp32 records it
    /// (`fp32_backend`), so a re-render can ask for the same sums.
    nonisolated(unsafe) public static var fp32Backend: FP32Backend = FP32BackendChoice.initial.backend

    /// How `fp32Backend` was chosen (logs, `mdd bench`, `mdctl health`); whoever sets `fp32Backend` says why here.
    nonisolated(unsafe) public static var fp32BackendReason: String = FP32BackendChoice.initial.reason
}

/// The start-up choice of the fp32 backend (see `GEMM.fp32Backend`), kept per machine in a small cache file so that
/// every process on it — `mdd render`, `bench`, `serve`, the tests — multiplies with the same library: measured anew,
/// a near-tie could flip between processes under load and two renders of one request would differ in their last
/// bits. The file (`$MDD_CACHE_DIR`, else `$XDG_CACHE_HOME/mdd`, else `~/.cache/mdd`, `fp32-backend.json`) is valid
/// for the CPU, the oneDNN ISA and the OpenBLAS kernel it names; delete it to measure again.
enum FP32BackendChoice {
    /// oneDNN must be at least this much faster (time ratio) to be chosen: near a tie the incumbent keeps the sums
    /// renders had before.
    static let margin = 0.9

    static let initial: (backend: GEMM.FP32Backend, reason: String) = choose()

    /// Products of the shapes that dominate renders: a 64×64 latent's 1×1 convs and projections, a 16×16 latent's
    /// feed-forward, a text encoder's rows.
    static let shapes: [(m: Int, n: Int, k: Int)] = [(4096, 320, 320), (256, 1280, 1280), (77, 768, 3072)]

    private struct Cached: Codable { let machine: String, backend: String, reason: String }

    private static func choose() -> (GEMM.FP32Backend, String) {
        let env = ProcessInfo.processInfo.environment["MDD_FP32_BACKEND"] ?? ""
        if let forced = GEMM.FP32Backend(rawValue: env) { return (forced, "MDD_FP32_BACKEND=\(env)") }
        guard OneDNN.version != nil, OneDNN.isa.hasPrefix("avx512") else {
            return (.openblas, "oneDNN isa \(OneDNN.isa): not measured (no AVX-512)")
        }
        guard case .success(let blas) = BLAS.shared else { return (.onednn, "OpenBLAS unavailable") }
        let machine = "\(CPUFeatures.current().modelName) | \(SHA256.hex(Array(CPUFeatures.current().flags.sorted().joined(separator: " ").utf8)).prefix(16)) | oneDNN \(OneDNN.isa) | OpenBLAS \(blas.coreName)"
        let path = cacheFile()
        if let path, let data = FileManager.default.contents(atPath: path),
           let cached = try? JSONDecoder().decode(Cached.self, from: data), cached.machine == machine,
           let backend = GEMM.FP32Backend(rawValue: cached.backend) {
            return (backend, "\(cached.reason) (kept in \(path))")
        }
        let (chosen, reason) = measure(blas)
        if let path, let data = try? JSONEncoder().encode(Cached(machine: machine, backend: chosen.rawValue, reason: reason)) {
            // Best effort (a read-only home is fine: the process keeps its measurement); renamed into place whole.
            try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let tmp = path + ".\(getpid()).tmp"
            if FileManager.default.createFile(atPath: tmp, contents: data) { rename(tmp, path) }
        }
        return (chosen, reason)
    }

    private static func cacheFile() -> String? {
        let env = ProcessInfo.processInfo.environment
        if let dir = env["MDD_CACHE_DIR"], !dir.isEmpty { return dir + "/fp32-backend.json" }
        if let dir = env["XDG_CACHE_HOME"], !dir.isEmpty { return dir + "/mdd/fp32-backend.json" }
        if let home = env["HOME"], !home.isEmpty { return home + "/.cache/mdd/fp32-backend.json" }
        return nil
    }

    /// Both libraries on the same products, alternated five times (the best time of each counts, so a time slice
    /// lost to another process in one round does not decide).
    private static func measure(_ blas: BLAS) -> (GEMM.FP32Backend, String) {
        var openblas = Double.infinity, onednn = Double.infinity
        for round in 0..<6 {
            let o = time { a, b, c, s in
                blas.sgemm(101, 111, 111, Int32(s.m), Int32(s.n), Int32(s.k), 1, a, Int32(s.k), b, Int32(s.n), 0, c, Int32(s.n))
            }
            let d = time { a, b, c, s in
                try? OneDNN.matmulF32(transA: false, transB: false, m: s.m, n: s.n, k: s.k, alpha: 1, a: a, lda: s.k, b: b,
                                      ldb: s.n, beta: 0, c: c, ldc: s.n)
            }
            if round > 0 { (openblas, onednn) = (min(openblas, o), min(onednn, d)) }  // round 0 warms up
        }
        let chosen: GEMM.FP32Backend = onednn <= margin * openblas ? .onednn : .openblas
        return (chosen, String(format: "measured: oneDNN %@ %.1f ms, OpenBLAS %@ %.1f ms on the engine's typical products (%.2fx)",
                               OneDNN.isa, onednn * 1000, blas.coreName, openblas * 1000, openblas / onednn))
    }

    /// Seconds for one pass over `shapes` on the calling thread.
    private static func time(_ product: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>,
                                         (m: Int, n: Int, k: Int)) -> Void) -> Double {
        var total = 0.0
        for s in shapes {
            let a = [Float](repeating: 0.5, count: s.m * s.k), b = [Float](repeating: 0.25, count: s.k * s.n)
            var c = [Float](repeating: 0, count: s.m * s.n)
            let start = DispatchTime.now().uptimeNanoseconds
            c.withUnsafeMutableBufferPointer { product(a, b, $0.baseAddress!, s) }
            total += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        return total
    }
}
