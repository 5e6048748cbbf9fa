/// What a prompt may contain. A prompt is stored and rendered exactly as given or refused: SQLite's C strings
/// and PNG text chunks end at a NUL, so "the blue\0square" used to be stored and rendered as "the blue".
/// mdctl checks every input path (arguments, files, stdin) before sending; the daemon checks again.
public enum PromptText {
    /// Bytes of UTF-8 in a prompt or negative prompt (the queue's `JobLimits.maxPromptBytes`).
    public static let maxBytes = 4096

    /// Why `text` cannot be stored as the `field` of a job, or nil when it can.
    public static func problem(_ text: String, field: String = "prompt") -> String? {
        if field == "prompt", !text.unicodeScalars.contains(where: { !$0.properties.isWhitespace }) { return "\(field) is empty" }
        let bytes = text.utf8.count
        if bytes > maxBytes { return "\(field) is \(bytes) bytes of UTF-8; the limit is \(maxBytes)" }
        return controlCharacter(text, field: field)
    }

    /// The first C0 control character (U+0000–U+001F) other than tab, described with its position.
    public static func controlCharacter(_ text: String, field: String) -> String? {
        for (i, s) in text.unicodeScalars.enumerated() where isRefused(s) {
            return "\(field) contains control character \(name(s)) at character \(i + 1); only tab is allowed"
        }
        return nil
    }

    /// C0 controls but tab: invisible, and NUL truncates the stored text.
    public static func isRefused(_ s: Unicode.Scalar) -> Bool { s.value < 0x20 && s != "\t" }

    static func name(_ s: Unicode.Scalar) -> String {
        let names: [UInt32: String] = [0x00: "NUL", 0x0A: "LF (line feed)", 0x0D: "CR (carriage return)", 0x1B: "ESC"]
        let hex = String(s.value, radix: 16, uppercase: true)
        let code = "U+" + String(repeating: "0", count: 4 - hex.count) + hex
        return names[s.value].map { "\(code) \($0)" } ?? code
    }
}
