import Foundation

/// Typed reads of a diffusers/transformers JSON config, each failure naming the file and field.
public struct ConfigReader: @unchecked Sendable {
    public let path: String
    public let json: [String: Any]

    public init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EngineError.file(path: path, reason: "cannot read file (missing?)")
        }
        do {
            guard let obj = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw EngineError.file(path: path, reason: "not a JSON object")
            }
            json = obj
        } catch let e as EngineError {
            throw e
        } catch {
            throw EngineError.file(path: path, reason: "invalid JSON: \(error.localizedDescription)")
        }
        self.path = path
    }

    public init(path: String, json: [String: Any]) {
        self.path = path
        self.json = json
    }

    public func has(_ key: String) -> Bool { json[key] != nil && !(json[key] is NSNull) }

    public func int(_ key: String, default d: Int? = nil) throws -> Int {
        guard has(key) else { return try orDefault(key, d) }
        // Whole numbers within ±2^53 only: beyond that a JSON number is no exact Int (1e300 would wrap or trap).
        if let n = json[key] as? NSNumber, !Self.isBool(n), n.doubleValue == n.doubleValue.rounded(),
           abs(n.doubleValue) <= 9_007_199_254_740_992 { return n.intValue }
        throw EngineError.config(path: path, field: key, reason: "expected an integer, found \(describe(json[key]))")
    }

    public func double(_ key: String, default d: Double? = nil) throws -> Double {
        guard has(key) else { return try orDefault(key, d) }
        if let n = json[key] as? NSNumber, !Self.isBool(n) { return n.doubleValue }
        throw EngineError.config(path: path, field: key, reason: "expected a number, found \(describe(json[key]))")
    }

    public func bool(_ key: String, default d: Bool? = nil) throws -> Bool {
        guard has(key) else { return try orDefault(key, d) }
        if let b = json[key] as? NSNumber, Self.isBool(b) { return b.boolValue }
        throw EngineError.config(path: path, field: key, reason: "expected true or false, found \(describe(json[key]))")
    }

    public func string(_ key: String, default d: String? = nil) throws -> String {
        guard has(key) else { return try orDefault(key, d) }
        if let s = json[key] as? String { return s }
        throw EngineError.config(path: path, field: key, reason: "expected a string, found \(describe(json[key]))")
    }

    public func optionalString(_ key: String) throws -> String? { has(key) ? try string(key) : nil }
    public func optionalInt(_ key: String) throws -> Int? { has(key) ? try int(key) : nil }

    public func strings(_ key: String, default d: [String]? = nil) throws -> [String] {
        guard has(key) else { return try orDefault(key, d) }
        if let s = json[key] as? [String] { return s }
        throw EngineError.config(path: path, field: key, reason: "expected a list of strings, found \(describe(json[key]))")
    }

    public func ints(_ key: String, default d: [Int]? = nil) throws -> [Int] {
        guard has(key) else { return try orDefault(key, d) }
        if let a = json[key] as? [NSNumber], !a.contains(where: Self.isBool),
           a.allSatisfy({ $0.doubleValue == $0.doubleValue.rounded() && abs($0.doubleValue) <= 9_007_199_254_740_992 }) {
            return a.map(\.intValue)
        }
        throw EngineError.config(path: path, field: key, reason: "expected a list of integers, found \(describe(json[key]))")
    }

    /// An int or a per-block list of ints (diffusers' `attention_head_dim`, `transformer_layers_per_block`).
    public func intOrList(_ key: String, count: Int, default d: Int? = nil) throws -> [Int] {
        guard has(key) else { return [Int](repeating: try orDefault(key, d), count: count) }
        if json[key] is [Any] {
            let v = try ints(key)
            guard v.count == count else {
                throw EngineError.config(path: path, field: key, reason: "has \(v.count) entries, expected \(count) (one per block)")
            }
            return v
        }
        return [Int](repeating: try int(key), count: count)
    }

    public func boolOrList(_ key: String, count: Int, default d: Bool) throws -> [Bool] {
        guard has(key) else { return [Bool](repeating: d, count: count) }
        if let a = json[key] as? [NSNumber], a.allSatisfy(Self.isBool) {
            let a = a.map(\.boolValue)
            guard a.count == count else { throw EngineError.config(path: path, field: key, reason: "has \(a.count) entries, expected \(count)") }
            return a
        }
        return [Bool](repeating: try bool(key), count: count)
    }

    /// Throws if `key` is set to anything but the allowed values (an unsupported diffusers option).
    public func require(_ key: String, in allowed: [String?]) throws {
        let value = has(key) ? json[key].map(Self.text) : nil
        guard allowed.contains(where: { $0 == value }) else {
            throw EngineError.config(path: path, field: key, reason: "value \(value ?? "null") is not supported (supported: \(allowed.map { $0 ?? "null" }.joined(separator: ", ")))")
        }
    }

    /// JSON booleans arrive as NSNumber subclasses whose class name says Boolean (true also `is Bool` for 1).
    static func isBool(_ n: NSNumber) -> Bool { String(describing: type(of: n)).contains("Bool") }

    /// A JSON scalar as text: booleans as "true"/"false", numbers in their shortest form.
    static func text(_ v: Any) -> String {
        if let s = v as? String { return s }
        if let n = v as? NSNumber {
            if isBool(n) { return n.boolValue ? "true" : "false" }
            return n.doubleValue == n.doubleValue.rounded() ? String(n.intValue) : String(n.doubleValue)
        }
        return "\(v)"
    }

    private func orDefault<T>(_ key: String, _ d: T?) throws -> T {
        guard let d else { throw EngineError.config(path: path, field: key, reason: "required field is missing") }
        return d
    }

    private func describe(_ v: Any?) -> String {
        guard let v else { return "nothing" }
        return "\(v)".prefix(60).description
    }
}
