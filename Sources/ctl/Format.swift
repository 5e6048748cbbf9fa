import Foundation

/// Human formatting: aligned tables, durations, rates.
enum Format {
    static func table(_ header: [String], _ rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { i in all.map { $0[i].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                return i == 0 ? cell + pad : pad + cell
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    static func duration(_ seconds: Double?) -> String {
        guard let s = seconds, s.isFinite else { return "—" }
        if s < 1 { return String(format: "%.0f ms", s * 1000) }
        if s < 60 { return String(format: "%.1f s", s) }
        if s < 3600 { return String(format: "%dm%02ds", Int(s) / 60, Int(s) % 60) }
        return String(format: "%dh%02dm", Int(s) / 3600, Int(s) % 3600 / 60)
    }

    static func ms(_ v: Double?) -> String {
        guard let v else { return "—" }
        return v < 1000 ? String(format: "%.0f ms", v) : String(format: "%.2f s", v / 1000)
    }

    static func rate(_ perMinute: Double) -> String {
        perMinute >= 60 ? String(format: "%.1f img/s", perMinute / 60) : String(format: "%.1f img/min", perMinute)
    }

    static func count(_ n: Int) -> String {
        let s = String(n)
        var out = ""
        for (i, c) in s.reversed().enumerated() {
            if i > 0 && i % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return String(out.reversed())
    }

    /// "[#####.....]  52%"
    static func bar(done: Int, total: Int, width: Int = 30) -> String {
        let f = total == 0 ? 1 : Double(done) / Double(total)
        let filled = Int((f * Double(width)).rounded(.down))
        return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] " + String(format: "%3.0f%%", f * 100)
    }
}
