/// Named access to one safetensors file's tensors, checking shapes and tracking which keys were consumed,
/// so that loading reports both missing and unexpected tensors with the file and key.
///
/// With `WeightSource.random` it instead invents deterministic weights of whatever shape the model asks for, so
/// that a config alone can be benchmarked (`mdd bench --random-weights`).
public final class WeightStore: @unchecked Sendable {
    let file: SafetensorsFile?
    public let path: String
    /// A prefix the model's key names carry but this file may omit (e.g. "text_model." in transformers ≥ 5).
    private let optionalPrefix: String?
    private var used = Set<String>()
    /// Elements of every tensor handed out so far: the component's parameter count once loading is done.
    public private(set) var parameterCount = 0
    private let randomSeed: UInt64?
    /// Whether 3x3 stride-1 convs built by `conv` use Winograd F(4x4,3x3) (unless `MDD_WINOGRAD=0`). Set by the
    /// VAE decoder only: its large-resolution convs run ~1.3–1.5x faster, while UNet convs measured no faster and
    /// their transformed kernels would hold 4x the conv weights in memory (GBs for an SD-class UNet).
    public var winogradConvs = false
    /// Whether the linear layers and im2col convs built by `linear` and `conv` keep their weights in bf16 alone
    /// (`Linear(bf16Only:)`): set for a model loaded to render with native bf16 products only.
    public var bf16Weights = false

    public init(path: String, source: WeightSource = .file, optionalPrefix: String? = nil) throws {
        self.path = path
        self.optionalPrefix = optionalPrefix
        switch source {
        case .file:
            file = try SafetensorsFile(path: path)
            randomSeed = nil
        case .random(let seed):
            file = nil
            randomSeed = seed
        }
    }

    /// The file's own name for a model key, trying the optional prefix both ways.
    func resolve(_ key: String) -> String? {
        guard let file else { return nil }
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
        parameterCount += shape.reduce(1, *)
        if let randomSeed { return RandomWeights.tensor(key: key, shape: shape, seed: randomSeed) }
        guard let file, let actual = ([key] + aliases).lazy.compactMap(resolve).first, let entry = file.entries[actual] else {
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
        return Linear(weight: w, bias: b, bf16Only: bf16Weights)
    }

    public func conv(_ prefix: String, in i: Int, out o: Int, kernel k: Int, stride: Int = 1, padding: Int? = nil,
                     groups: Int = 1, bias: Bool = true) throws -> Conv2d {
        let w = try tensor(prefix + ".weight", shape: [o, i / groups, k, k])
        let b = bias ? try vector(prefix + ".bias", count: o) : nil
        return Conv2d(weight: w, bias: b, stride: stride, padding: padding ?? k / 2, groups: groups,
                      useWinograd: winogradConvs ? nil : false, bf16Only: bf16Weights)
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
        guard let file else { return }
        let extra = file.entries.keys.filter { key in
            !used.contains(key) && !ignoring.contains { key.hasPrefix($0) || key.hasSuffix($0) }
        }.sorted()
        if !extra.isEmpty { throw EngineError.unexpectedTensors(path: path, keys: extra) }
    }
}

/// Where a model's weights come from.
public enum WeightSource: Sendable, Equatable {
    /// The folder's safetensors files.
    case file
    /// Deterministic pseudo-random weights (for benchmarking a config without weights).
    case random(seed: UInt64)
}

/// Deterministic stand-in weights: U(−1, 1)/√fan_in for matrices, 1 for norm scales, 0 for biases.
enum RandomWeights {
    static func tensor(key: String, shape: [Int], seed: UInt64) -> Tensor {
        let count = shape.reduce(1, *)
        if shape.count == 1 {
            let isScale = key.hasSuffix(".weight")
            return Tensor(shape: shape, data: [Float](repeating: isScale ? 1 : 0, count: count))
        }
        var state = seed ^ fnv1a(key)
        let fanIn = shape.dropFirst().reduce(1, *)
        let scale = 1 / Float(max(fanIn, 1)).squareRoot()
        let data = [Float](unsafeUninitializedCapacity: count) { buf, n in
            for i in 0..<count {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                buf[i] = (Float(UInt32(truncatingIfNeeded: state >> 40)) / Float(1 << 24) * 2 - 1) * scale
            }
            n = count
        }
        return Tensor(shape: shape, data: data)
    }

    static func fnv1a(_ s: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }
}
