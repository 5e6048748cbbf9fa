import Foundation

/// A parsed Prometheus text exposition (format 0.0.4): samples by name and labels, and the declared types.
struct PrometheusText {
    struct Sample {
        let name: String
        let labels: [String: String]
        let value: Double
    }

    private(set) var samples: [Sample] = []
    private(set) var types: [String: String] = [:]

    init(_ text: String) throws {
        for line in text.split(separator: "\n") where !line.isEmpty {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                if parts.count == 4 { types[String(parts[2])] = String(parts[3]) }
                continue
            }
            if line.hasPrefix("#") { continue }
            samples.append(try Self.sample(String(line)))
        }
    }

    /// `name{a="x",b="y"} value` or `name value`.
    private static func sample(_ line: String) throws -> Sample {
        guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...].replacingOccurrences(of: "+Inf", with: "inf")) else {
            throw HarnessError("bad sample line: \(line)")
        }
        let series = line[..<space]
        guard let brace = series.firstIndex(of: "{") else { return Sample(name: String(series), labels: [:], value: value) }
        var labels: [String: String] = [:]
        let body = series[series.index(after: brace)..<series.index(before: series.endIndex)]
        for pair in body.components(separatedBy: "\",") where !pair.isEmpty {
            let kv = pair.split(separator: "=", maxSplits: 1)
            guard kv.count == 2 else { throw HarnessError("bad label in: \(line)") }
            labels[String(kv[0])] = kv[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        return Sample(name: String(series[..<brace]), labels: labels, value: value)
    }

    func values(_ name: String, where match: [String: String] = [:]) -> [Sample] {
        samples.filter { s in s.name == name && match.allSatisfy { s.labels[$0.key] == $0.value } }
    }

    func value(_ name: String, _ match: [String: String] = [:]) -> Double? { values(name, where: match).first?.value }
}
