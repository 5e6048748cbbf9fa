import Engine
import Foundation

/// The numbers `mdd bench` reports, as a table or JSON.
struct BenchReport: Encodable {
    struct Stage: Encodable {
        let name: String
        let medianMs: Double
        let gflop: Double?
        let gflops: Double?
        let parameters: Int?
        /// Share of the stage's time spent inside sgemm (the rest: transforms, norms, activations, copies).
        let gemmPercent: Double?
    }

    let model: String
    let width: Int, height: Int, steps: Int, runs: Int
    let blasCore: String, blasThreads: Int
    let precision: String
    /// What multiplies: "OpenBLAS <core>" (fp32), "oneDNN <impl>" (native bf16) or "bf16 emulated on OpenBLAS".
    let backend: String
    /// oneDNN's version and the instruction set its kernels use here (ONEDNN_VERBOSE's "isa").
    let onednn: String
    /// Measured peak of `backend` on 2048³ products through `GEMM.sgemm` (the name is the historical one).
    let sgemmPeakGFLOPS: Double
    let stages: [Stage]
    let unetPercentOfPeak: Double
    let totalMedianMs: Double
    let peakRSSMB: Double
    let loadSeconds: Double

    /// `peakRSSBytes`: the process's peak after loading and rendering, read before the peak GFLOP/s measurement
    /// (whose 2048² operands are not render memory).
    init(engine: TextToImage, blas: BLAS, results: [RenderedImage], peakGFLOPS: Double, loadSeconds: Double, peakRSSBytes: Double) {
        func median(_ f: (StageTimings) -> Double) -> Double {
            let v = results.map { f($0.timings) }.sorted()
            return v.count % 2 == 1 ? v[v.count / 2] : (v[v.count / 2 - 1] + v[v.count / 2]) / 2
        }
        let work = results[results.count / 2].work
        func stage(_ name: String, _ ms: Double, _ flops: Int?, _ params: Int?, gemmMs: Double? = nil) -> Stage {
            let gflop = flops.map { Double($0) / 1e9 }
            return Stage(name: name, medianMs: ms, gflop: gflop, gflops: gflop.map { $0 / (ms / 1000) }, parameters: params,
                         gemmPercent: gemmMs.map { min(100, $0 / max(ms, 1e-9) * 100) })
        }
        let unetMs = median(\.unetMs)
        stages = [
            stage("tokenize", median(\.tokenizeMs), nil, nil),
            stage("text_encoder", median(\.textEncoderMs), work.textEncoderFlops, engine.textEncoder.parameters,
                  gemmMs: work.textEncoderGemmMs),
            stage("unet", unetMs, work.unetFlops, engine.unet.parameters, gemmMs: work.unetGemmMs),
            stage("decode", median(\.decodeMs), work.decodeFlops, engine.vae.parameters, gemmMs: work.decodeGemmMs),
            stage("png", median(\.pngMs), nil, nil),
        ]
        model = engine.modelName
        width = results[0].width
        height = results[0].height
        steps = (Int(results[0].metadata.first { $0.0 == "steps" }?.1 ?? "1")) ?? 1
        runs = results.count
        blasCore = blas.coreName
        blasThreads = blas.threads
        precision = engine.precision.rawValue
        backend = EngineBackend.describe(precision: engine.precision, blas: blas)
        onednn = EngineBackend.onednnSummary
        sgemmPeakGFLOPS = peakGFLOPS
        unetPercentOfPeak = (Double(work.unetFlops) / 1e9 / (unetMs / 1000)) / peakGFLOPS * 100
        totalMedianMs = median(\.totalMs)
        peakRSSMB = peakRSSBytes / 1_048_576
        self.loadSeconds = loadSeconds
    }

    func table() -> String {
        var lines = [
            "model \(model)  \(width)x\(height)  steps \(steps)  runs \(runs)  \(precision)  (load \(String(format: "%.1f", loadSeconds)) s)",
            "products: \(backend), \(blasThreads) engine threads (one single-threaded call per block), measured peak \(String(format: "%.1f", sgemmPeakGFLOPS)) GFLOP/s",
            "oneDNN: \(onednn)",
            "",
            row("stage", "median ms", "params", "GFLOP", "GFLOP/s", "in GEMM"),
        ]
        for s in stages {
            lines.append(row(s.name, String(format: "%.1f", s.medianMs),
                             s.parameters.map { String(format: "%.2fM", Double($0) / 1e6) } ?? "-",
                             s.gflop.map { String(format: "%.2f", $0) } ?? "-",
                             s.gflops.map { String(format: "%.1f", $0) } ?? "-",
                             s.gemmPercent.map { String(format: "%.0f%%", $0) } ?? "-"))
        }
        lines.append(row("total", String(format: "%.1f", totalMedianMs), "", "", "", ""))
        lines.append("")
        lines.append(String(format: "UNet at %.1f%% of the measured peak; peak RSS %.0f MB", unetPercentOfPeak, peakRSSMB))
        return lines.joined(separator: "\n")
    }
}

/// One left-aligned name and four right-aligned columns.
private func row(_ name: String, _ cols: String...) -> String {
    name.padding(toLength: 14, withPad: " ", startingAt: 0) + cols.map { String(repeating: " ", count: max(0, 11 - $0.count)) + $0 }.joined()
}

/// Process resource usage.
enum ResourceUsage {
    /// Peak resident set size in bytes (getrusage's ru_maxrss is in KiB on Linux).
    static func peakRSSBytes() -> Double {
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        return Double(u.ru_maxrss) * 1024
    }
}
