import CPNG
import Foundation

/// PNG encoding and decoding through libpng (8-bit RGB), with text chunks.
public enum PNGCodec {
    /// The engine's default zlib level: level 1 with the Paeth filter encodes a 128×128 render in 0.66 ms
    /// (level 6 with adaptive filters: 3.1 ms, 20 % smaller files); at ~45 ms per image that is 5 % of the work.
    public static let defaultCompression = 1

    /// Encodes `rgb` ([height, width, 3] bytes) with `text` stored as iTXt chunks in the given key order.
    /// `compression`: zlib level 0–9 (up to 3 with the Paeth filter, above with libpng's per-row filter choice).
    public static func encode(rgb: [UInt8], width: Int, height: Int, text: [(String, String)],
                              compression: Int = defaultCompression) throws -> [UInt8] {
        guard (0...9).contains(compression) else { throw EngineError.image("PNG compression level must be 0…9, got \(compression)") }
        guard rgb.count == width * height * 3 else { throw EngineError.image("RGB buffer has \(rgb.count) bytes, expected \(width * height * 3)") }
        var keys = text.map { strdup($0.0) }, values = text.map { strdup($0.1) }
        defer { keys.forEach { free($0) }; values.forEach { free($0) } }
        var result = cpng_result()
        let status = keys.withUnsafeMutableBufferPointer { kp in
            values.withUnsafeMutableBufferPointer { vp in
                kp.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: kp.count) { k in
                    vp.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: vp.count) { v in
                        cpng_encode_rgb(rgb, UInt32(width), UInt32(height), k, v, Int32(text.count), Int32(compression), &result)
                    }
                }
            }
        }
        guard status == 0, let data = result.data else {
            throw EngineError.image(withUnsafeBytes(of: result.error) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) })
        }
        defer { cpng_free(data) }
        return Array(UnsafeBufferPointer(start: data, count: result.size))
    }

    /// Decodes any PNG to 8-bit RGB.
    public static func decode(_ png: [UInt8]) throws -> (rgb: [UInt8], width: Int, height: Int) {
        try checkChunkLengths(png)
        var out: UnsafeMutablePointer<UInt8>?
        var w: UInt32 = 0, h: UInt32 = 0
        var err = [CChar](repeating: 0, count: 256)
        let status = cpng_decode_rgb(png, png.count, &out, &w, &h, &err, err.count)
        guard status == 0, let out else { throw EngineError.image(String(cString: err)) }
        defer { cpng_free(out) }
        return (Array(UnsafeBufferPointer(start: out, count: Int(w) * Int(h) * 3)), Int(w), Int(h))
    }

    /// Refuses a chunk that claims more bytes than the file holds: libpng allocates the claimed length (up to
    /// 2^31−1) before it finds the data missing, which took seconds per 84-byte file (found by scripts/fuzz.sh png).
    static func checkChunkLengths(_ png: [UInt8]) throws {
        var i = 8
        while i + 8 <= png.count {
            let len = Int(png[i]) << 24 | Int(png[i + 1]) << 16 | Int(png[i + 2]) << 8 | Int(png[i + 3])
            let type = String(decoding: png[(i + 4)..<(i + 8)], as: UTF8.self)
            guard i + 12 + len <= png.count else {
                throw EngineError.image("PNG chunk '\(type)' at byte \(i) claims \(len) bytes; the file has \(png.count - i - 12) left (truncated?)")
            }
            if type == "IEND" { return }
            i += 12 + len
        }
    }

    /// The text chunks (tEXt, zTXt, iTXt) of a PNG, in file order.
    public static func textChunks(_ png: [UInt8]) -> [(String, String)] {
        var out: [(String, String)] = []
        var i = 8
        while i + 8 <= png.count {
            let len = Int(png[i]) << 24 | Int(png[i + 1]) << 16 | Int(png[i + 2]) << 8 | Int(png[i + 3])
            let type = String(decoding: png[(i + 4)..<(i + 8)], as: UTF8.self)
            guard i + 12 + len <= png.count else { break }
            let body = Array(png[(i + 8)..<(i + 8 + len)])
            if type == "tEXt" || type == "iTXt", let nul = body.firstIndex(of: 0) {
                let key = String(decoding: body[..<nul], as: UTF8.self)
                var rest = Array(body[(nul + 1)...])
                if type == "iTXt" {
                    // compression flag, method, language\0, translated keyword\0, text
                    rest = Array(rest.dropFirst(2))
                    for _ in 0..<2 { if let z = rest.firstIndex(of: 0) { rest = Array(rest[(z + 1)...]) } }
                }
                out.append((key, String(decoding: rest, as: UTF8.self)))
            }
            i += 12 + len
        }
        return out
    }
}

/// Float image [1, 3, H, W] in [-1, 1] → interleaved RGB bytes, as diffusers' VaeImageProcessor.postprocess:
/// (x / 2 + 0.5).clamp(0, 1) · 255, rounded half to even.
public func imageToRGB8(_ image: Tensor, batch b: Int = 0) -> [UInt8] {
    let h = image.h, w = image.w, plane = h * w
    var rgb = [UInt8](repeating: 0, count: plane * 3)
    let base = b * 3 * plane
    for c in 0..<3 {
        for p in 0..<plane {
            let v = min(max(image.data[base + c * plane + p] / 2 + 0.5, 0), 1) * 255
            rgb[p * 3 + c] = UInt8(v.rounded(.toNearestOrEven))
        }
    }
    return rgb
}
