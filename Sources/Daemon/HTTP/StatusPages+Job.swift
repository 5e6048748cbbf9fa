import Foundation
import Queue

extension StatusPages {
    /// `/jobs/ID`: the image, its prompt, seed and settings, time per stage, and the `mdd render` command that
    /// renders the same bytes again. nil: no such job.
    func job(_ id: Int64) throws -> String? {
        guard let j = try context.store.job(id) else { return nil }
        let index = try BatchOrdinals.shared.indexes(of: [j], batch: j.batch, store: context.store, wait: false)[j.id]
        var body = "<h1>job \(j.id)</h1><p><a href=\"/batches/\(HTML.component(j.batch))\">batch \(HTML.escape(j.batch))</a>"
        body += index.map { " · #\($0)" } ?? ""
        body += " · <b class=\"state\">\(j.state.rawValue)</b></p>"
        if let url = files.url(for: j) {
            body += "<p><a href=\"\(url)\"><img src=\"\(url)\" alt=\"\(HTML.escape(j.prompt))\" style=\"max-width:512px\"></a></p>"
        }
        body += "<table>" + settingsRows(j) + timingRows(j) + "</table>"
        if let error = j.error { body += "<p class=\"err\">\(HTML.escape(error))</p>" }
        let recorded = files.recordedText(of: j)
        body += "<h2>Render it again</h2><pre><code>\(HTML.escape(renderCommand(j, recorded: recorded)))</code></pre>"
        if let p = j.outputPath {
            body += "<p>or, from the PNG's own record (also compares the bytes):</p><pre><code>"
                + HTML.escape(["mdd", "render", "--model", context.configuration.modelPath, "--from", p, "--out", "job-\(j.id)-again.png"]
                    .map(Self.shellQuote).joined(separator: " ")) + "</code></pre>"
        }
        let running = j.state == .pending || j.state == .running
        return HTML.page(title: "job \(j.id)", refresh: running ? Self.refreshSeconds : nil, body: body)
    }

    private func settingsRows(_ j: Job) -> String {
        var rows: [(String, String)] = [("prompt", j.prompt)]
        if let n = j.negativePrompt { rows.append(("negative prompt", n)) }
        rows += [("seed", String(j.seed)), ("steps", String(j.steps)), ("guidance", String(j.guidance)),
                 ("size", "\(j.width.map(String.init) ?? "model default")×\(j.height.map(String.init) ?? "model default")"),
                 ("attempts", "\(j.attempts)/\(j.maxAttempts)")]
        if let p = j.outputPath { rows.append(("file", p)) }
        if let s = j.outputSHA256 { rows.append(("sha256", s)) }
        return rows.map { "<tr><th>\($0.0)</th><td class=\"\($0.0.replacingOccurrences(of: " ", with: "-"))\">\(HTML.escape($0.1))</td></tr>" }.joined()
    }

    private func timingRows(_ j: Job) -> String {
        var stages: [(String, Double?)] = [("queue wait", j.queueWaitMs)]
        if let t = j.timings {
            stages += [("text", t.textMs), ("unet", t.unetMs), ("decode", t.decodeMs), ("png", t.pngMs), ("total", t.totalMs)]
        }
        return stages.compactMap { name, ms in ms.map { "<tr><th>\(name)</th><td>\(String(format: "%.1f", $0)) ms</td></tr>" } }.joined()
    }

    /// The command line that renders this job's image again: same model, prompt, seed and settings, and the
    /// precision and fp32 backend its PNG records.
    func renderCommand(_ j: Job, recorded: [String: String]) -> String {
        // The fp32 product backend changes the last bits; the PNG records oneDNN when it ran, else it was OpenBLAS.
        var args = ["MDD_FP32_BACKEND=\(recorded["fp32_backend"] ?? "openblas")"]
        if recorded["winograd"] == "fp32" { args.append("MDD_WINOGRAD_BF16=0") }
        args += ["mdd", "render", "--model", context.configuration.modelPath, "--prompt", j.prompt, "--seed", String(j.seed),
                    "--steps", String(j.steps), "--guidance", String(j.guidance)]
        if let n = j.negativePrompt { args += ["--negative-prompt", n] }
        if let w = j.width { args += ["--width", String(w)] }
        if let h = j.height { args += ["--height", String(h)] }
        args += ["--precision", recorded["precision"] ?? "fp32", "--out", "job-\(j.id).png"]
        return args.map(Self.shellQuote).joined(separator: " ")
    }

    /// POSIX shell quoting: bare when safe, else single quotes with embedded ones escaped.
    static func shellQuote(_ s: String) -> String {
        let safe = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_./:=+,@%"))
        if !s.isEmpty && s.unicodeScalars.allSatisfy({ safe.contains($0) }) { return s }
        return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
