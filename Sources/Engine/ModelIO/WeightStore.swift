/// Named access to one safetensors file's tensors, checking shapes and tracking which keys were consumed,
/// so that loading reports both missing and unexpected tensors with the file and key.
public final class WeightStore: @unchecked Sendable {
    public let file: SafetensorsFile
    /// A prefix the model's key names carry but this file may omit (e.g. "text_model." in transformers ≥ 5).
    private let optionalPrefix: String?
    private var used = Set<String>()

    public init(path: String, optionalPrefix: String? = nil) throws {
        file = try SafetensorsFile(path: path)
        self.optionalPrefix = optionalPrefix
    }

    public var path: String { file.path }

    /// The file's own name for a model key, trying the optional prefix both ways.
    func resolve(_ key: String) -> String? {
        if file.entries[key] != nil { return key }
        if let p = optionalPrefix {
            if key.hasPrefix(p), file.entries[String(key.dropFirst(p.count))] != nil { return String(key.dropFirst(p.count)) }
            if file.entries[p + key] != nil { return p + key }
        }
        return nil
    }

    public func has(_ key: String) -> Bool { resolve(key) != nil }

    /// The tensor `key` (or the first of `aliases` present), checked against `shape`.
    public func tensor(_ key: String, shape: [Int], aliases: [String] = []) throws -> Tensor {
        guard let actual = ([key] + aliases).lazy.compactMap(resolve).first, let entry = file.entries[actual] else {
            throw EngineError.missingTensor(path: path, key: key)
        }
        // Legacy VAE attention stores 1x1 conv weights [C, C, 1, 1] where Linear expects [C, C].
        let squeezed = entry.shape.count == 4 && shape.count == 2 && entry.shape[2] == 1 && entry.shape[3] == 1
            ? Array(entry.shape.prefix(2)) : entry.shape
        guard squeezed == shape else { throw EngineError.shapeMismatch(path: path, key: actual, expected: shape, actual: entry.shape) }
        used.insert(actual)
        return Tensor(shape: shape, data: try file.floats(actual))
    }

    public func vector(_ key: String, count: Int, aliases: [String] = []) throws -> [Float] {
        try tensor(key, shape: [count], aliases: aliases).data
    }

    public func linear(_ prefix: String, in i: Int, out o: Int, bias: Bool = true, aliases: [String] = []) throws -> Linear {
        let w = try tensor(prefix + ".weight", shape: [o, i], aliases: aliases.map { $0 + ".weight" })
        let b = bias ? try vector(prefix + ".bias", count: o, aliases: aliases.map { $0 + ".bias" }) : nil
        return Linear(weight: w, bias: b)
    }

    /// A linear layer whose bias is optional in the file (present → used).
    public func linearMaybeBias(_ prefix: String, in i: Int, out o: Int) throws -> Linear {
        try linear(prefix, in: i, out: o, bias: has(prefix + ".bias"))
    }

    public func conv(_ prefix: String, in i: Int, out o: Int, kernel k: Int, stride: Int = 1, padding: Int? = nil,
                     groups: Int = 1, bias: Bool = true) throws -> Conv2d {
        let w = try tensor(prefix + ".weight", shape: [o, i / groups, k, k])
        let b = bias ? try vector(prefix + ".bias", count: o) : nil
        return Conv2d(weight: w, bias: b, stride: stride, padding: padding ?? k / 2, groups: groups)
    }

    public func groupNorm(_ prefix: String, groups: Int, channels: Int, eps: Float) throws -> GroupNorm {
        guard groups > 0, channels % groups == 0 else {
            throw EngineError.config(path: path, field: "norm_num_groups", reason: "\(channels) channels at '\(prefix)' are not divisible into \(groups) groups")
        }
        return GroupNorm(groups: groups, eps: eps, weight: try vector(prefix + ".weight", count: channels),
                         bias: try vector(prefix + ".bias", count: channels))
    }

    public func layerNorm(_ prefix: String, dim: Int, eps: Float) throws -> LayerNorm {
        LayerNorm(eps: eps, weight: try vector(prefix + ".weight", count: dim), bias: try vector(prefix + ".bias", count: dim))
    }

    /// Throws `unexpectedTensors` for keys nobody consumed, except those matching `ignoring` prefixes/suffixes.
    public func checkAllUsed(ignoring: [String] = []) throws {
        let extra = file.entries.keys.filter { key in
            !used.contains(key) && !ignoring.contains { key.hasPrefix($0) || key.hasSuffix($0) }
        }.sorted()
        if !extra.isEmpty { throw EngineError.unexpectedTensors(path: path, keys: extra) }
    }
}
