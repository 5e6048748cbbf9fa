import Foundation

/// Small helpers for the server-rendered pages: escaping, the page shell (inline CSS, no scripts, no external
/// resources), progress bars and the throughput plot.
enum HTML {
    /// Escapes text for element content and quoted attribute values.
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    /// Percent-encodes one path segment or query value.
    static func component(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? s
    }

    static let style = """
        body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;background:#fafafa;color:#222}
        table{border-collapse:collapse}td,th{padding:.25em .6em;text-align:left;border-bottom:1px solid #ddd;white-space:nowrap}
        .bar{width:220px;height:12px;background:#e3e3e3;display:inline-block;vertical-align:middle}
        .bar span{display:block;height:100%;background:#3a7}
        .grid{display:flex;flex-wrap:wrap;gap:8px}.tile{width:132px;font-size:12px}
        .tile img{width:128px;height:128px;border:1px solid #ccc;background:#eee}
        .err{color:#a22}.muted{color:#777}nav a{margin-right:.8em}code{background:#eee;padding:.1em .3em}
        """

    /// A whole page; `refresh` seconds re-loads it (while work runs) with no JavaScript.
    static func page(title: String, refresh: Int?, body: String) -> String {
        let meta = refresh.map { "<meta http-equiv=\"refresh\" content=\"\($0)\">" } ?? ""
        return """
            <!DOCTYPE html><html lang="en"><head><meta charset="utf-8">\(meta)<title>\(escape(title))</title>
            <style>\(style)</style></head><body><nav><a href="/">mdd</a><a href="/metrics">metrics</a></nav>
            \(body)</body></html>
            """
    }

    /// A progress bar for `done` of `total`.
    static func bar(done: Int, total: Int) -> String {
        let pct = total == 0 ? 0 : Double(done) * 100 / Double(total)
        return "<span class=\"bar\" title=\"\(done)/\(total)\"><span style=\"width:\(String(format: "%.1f", pct))%\"></span></span> \(String(format: "%.0f", pct))%"
    }

    /// Images per minute over the last hour as an SVG bar chart (oldest minute on the left).
    static func throughputPlot(_ perMinute: [Int]) -> String {
        let w = 600, h = 120, peak = max(perMinute.max() ?? 0, 1)
        let barW = Double(w) / Double(max(perMinute.count, 1))
        let bars = perMinute.enumerated().map { i, n in
            let bh = Double(n) / Double(peak) * Double(h - 20)
            return String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"><title>%d images</title></rect>",
                          Double(i) * barW, Double(h - 15) - bh, max(barW - 1, 1), bh, n)
        }.joined()
        return """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(w)" height="\(h)" role="img" aria-label="images per minute, last hour">\
            <g fill="#3a7">\(bars)</g><line x1="0" y1="\(h - 15)" x2="\(w)" y2="\(h - 15)" stroke="#999"/>\
            <text x="0" y="\(h - 2)" font-size="11" fill="#777">-60 min</text><text x="\(w - 30)" y="\(h - 2)" font-size="11" fill="#777">now</text>\
            <text x="4" y="12" font-size="11" fill="#777">peak \(peak)/min</text></svg>
            """
    }

    /// Seconds as "1 h 02 min", "3 min 05 s" or "42 s"; "–" when unknown.
    static func duration(_ seconds: Double?) -> String {
        guard let s = seconds, s.isFinite else { return "–" }
        let t = Int(s.rounded())
        if t >= 3600 { return String(format: "%d h %02d min", t / 3600, t % 3600 / 60) }
        if t >= 60 { return String(format: "%d min %02d s", t / 60, t % 60) }
        return "\(t) s"
    }
}
