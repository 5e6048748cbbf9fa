import Foundation

/// A safetensors file (https://github.com/huggingface/safetensors): 8-byte little-endian header length,
/// a JSON header {name: {dtype, shape, data_offsets}}, then the raw little-endian tensor bytes.
public final class SafetensorsFile: @unchecked Sendable {
    /// One tensor's entry in the header.
    public struct Entry: Sendable {
        public let dtype: String
        public let shape: [Int]
        /// Byte range relative to the start of the data section.
        public let begin: Int, end: Int
    }

    public let path: String
    public let entries: [String: Entry]
    public let metadata: [String: String]
    private let file: MappedFile
    private let dataStart: Int

    public init(path: String) throws {
        file = try MappedFile(path: path)
        self.path = path
        guard file.size >= 8 else { throw EngineError.safetensors(path: path, reason: "file is \(file.size) bytes, shorter than the 8-byte header length") }
        // A length with the top bit set does not fit an Int; clamp rather than trap, the range check refuses it.
        let headerLen = Int(clamping: file.bytes(0, 8).loadUnaligned(as: UInt64.self).littleEndian)
        guard headerLen > 1, headerLen <= 100_000_000, 8 + headerLen <= file.size else {
            throw EngineError.safetensors(path: path, reason: "header length \(headerLen) does not fit a \(file.size)-byte file (truncated?)")
        }
        dataStart = 8 + headerLen
        let headerBytes = Data(file.bytes(8, headerLen))
        guard let json = try? JSONSerialization.jsonObject(with: headerBytes) as? [String: Any] else {
            throw EngineError.safetensors(path: path, reason: "header is not a JSON object")
        }
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        for (key, value) in json {
            if key == "__metadata__" { metadata = value as? [String: String] ?? [:]; continue }
            entries[key] = try Self.parseEntry(key: key, value, path: path, dataSize: file.size - dataStart)
        }
        self.entries = entries
        self.metadata = metadata
    }

    private static func parseEntry(key: String, _ value: Any, path: String, dataSize: Int) throws -> Entry {
        guard let dict = value as? [String: Any], let dtype = dict["dtype"] as? String,
              let shape = dict["shape"] as? [Int], let offsets = dict["data_offsets"] as? [Int], offsets.count == 2 else {
            throw EngineError.safetensors(path: path, reason: "tensor '\(key)': entry needs dtype, shape and data_offsets")
        }
        let entry = Entry(dtype: dtype, shape: shape, begin: offsets[0], end: offsets[1])
        guard entry.begin >= 0, entry.begin <= entry.end, entry.end <= dataSize else {
            throw EngineError.safetensors(path: path, reason: "tensor '\(key)': bytes \(entry.begin)..<\(entry.end) lie outside the \(dataSize)-byte data section (truncated file?)")
        }
        guard shape.allSatisfy({ $0 >= 0 }), let elements = Self.elementCount(shape) else {
            throw EngineError.safetensors(path: path, reason: "tensor '\(key)': shape \(shape) has a negative dimension or overflows")
        }
        if let width = Self.byteWidth(dtype) {
            let (expected, overflow) = elements.multipliedReportingOverflow(by: width)
            guard !overflow, expected == entry.end - entry.begin else {
                throw EngineError.safetensors(path: path, reason: "tensor '\(key)': \(dtype) \(shape) needs \(expected) bytes, header gives \(entry.end - entry.begin)")
            }
        }
        return entry
    }

    /// The product of `shape`, or nil when it overflows an Int (a hostile header, found by fuzzing).
    static func elementCount(_ shape: [Int]) -> Int? {
        var n = 1
        for d in shape {
            let (p, overflow) = n.multipliedReportingOverflow(by: d)
            if overflow { return nil }
            n = p
        }
        return n
    }

    static func byteWidth(_ dtype: String) -> Int? {
        switch dtype {
        case "F32", "I32", "U32": return 4
        case "F16", "BF16", "I16": return 2
        case "F64", "I64": return 8
        case "U8", "I8", "BOOL", "F8_E4M3", "F8_E5M2": return 1
        default: return nil
        }
    }

    /// The tensor converted to float32; F32, F16 and BF16 are accepted.
    public func floats(_ key: String) throws -> [Float] {
        guard let e = entries[key] else { throw EngineError.missingTensor(path: path, key: key) }
        let raw = file.bytes(dataStart + e.begin, e.end - e.begin)
        let count = e.shape.reduce(1, *)
        defer { file.release(dataStart + e.begin, e.end - e.begin) }
        switch e.dtype {
        case "F32":
            return [Float](unsafeUninitializedCapacity: count) { buf, n in
                for i in 0..<count { buf[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
                n = count
            }
        case "F16":
            return [Float](unsafeUninitializedCapacity: count) { buf, n in
                for i in 0..<count { buf[i] = Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))) }
                n = count
            }
        case "BF16":
            return [Float](unsafeUninitializedCapacity: count) { buf, n in
                for i in 0..<count { buf[i] = Float(bitPattern: UInt32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16) }
                n = count
            }
        default:
            throw EngineError.unsupportedDType(path: path, key: key, dtype: e.dtype)
        }
    }

    /// SHA-256 of the whole file, hex.
    public func sha256() -> String {
        file.sha256Hex()
    }
}
