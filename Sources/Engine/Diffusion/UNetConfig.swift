/// The parts of a diffusers `unet/config.json` (UNet2DConditionModel) the engine implements, resolved per block
/// as diffusers resolves them (diffusers/models/unets/unet_2d_condition.py `__init__`).
public struct UNetConfig: Sendable {
    public var inChannels: Int, outChannels: Int, sampleSize: Int
    public var blockOutChannels: [Int]
    public var downBlockTypes: [String], upBlockTypes: [String]
    public var midBlockType: String?
    public var layersPerBlock: [Int]
    /// Heads per down block (diffusers' `num_attention_heads or attention_head_dim`).
    public var heads: [Int]
    public var transformerLayers: [Int]
    public var onlyCrossAttention: [Bool]
    public var crossAttentionDim: Int
    public var useLinearProjection: Bool
    public var groups: Int, normEps: Float
    public var flipSinToCos: Bool, freqShift: Float
    public var downsamplePadding: Int
    // MobileDiffusion options (extra `md_*` keys; see training/mdiff/unet.py and the README).
    /// ResNet 3x3 convs as depthwise + pointwise, per level.
    public var separableConv: [Bool]
    /// Self-attention in transformer blocks, per level (false: cross-attention and feed-forward only).
    public var selfAttention: [Bool]
    public var midSelfAttention: Bool
    /// Transformer layers in the mid block.
    public var midLayers: Int
    /// One projection for keys and values (V = K).
    public var sharedKV: Bool
    public var ffActivation: FeedForwardActivation
    public var ffMult: Int
    public var attentionActivation: AttentionActivation
    /// Fourier bands of explicit token positions in every transformer (0: none; FourierPositions).
    public var positionBands: Int
    /// Time embedding width: block_out_channels[0] * 4.
    public var timeEmbedDim: Int { blockOutChannels[0] * 4 }

    static let downTypes = ["CrossAttnDownBlock2D", "DownBlock2D"]
    static let upTypes = ["CrossAttnUpBlock2D", "UpBlock2D"]

    public init(_ c: ConfigReader) throws {
        inChannels = try c.int("in_channels", default: 4)
        outChannels = try c.int("out_channels", default: 4)
        sampleSize = try c.int("sample_size", default: 64)
        blockOutChannels = try c.ints("block_out_channels", default: [320, 640, 1280, 1280])
        let n = blockOutChannels.count
        downBlockTypes = try c.strings("down_block_types")
        upBlockTypes = try c.strings("up_block_types")
        midBlockType = try c.has("mid_block_type") ? c.string("mid_block_type") : "UNetMidBlock2DCrossAttn"
        try Self.check(c, "down_block_types", downBlockTypes, allowed: Self.downTypes, count: n)
        try Self.check(c, "up_block_types", upBlockTypes, allowed: Self.upTypes, count: n)
        if let m = midBlockType, m != "UNetMidBlock2DCrossAttn" {
            throw EngineError.config(path: c.path, field: "mid_block_type", reason: "'\(m)' is not supported (UNetMidBlock2DCrossAttn or null)")
        }
        layersPerBlock = try c.intOrList("layers_per_block", count: n, default: 2)
        let headDim = try c.intOrList("attention_head_dim", count: n, default: 8)
        heads = c.has("num_attention_heads") ? try c.intOrList("num_attention_heads", count: n) : headDim
        transformerLayers = try c.intOrList("transformer_layers_per_block", count: n, default: 1)
        onlyCrossAttention = try c.boolOrList("only_cross_attention", count: n, default: false)
        crossAttentionDim = try c.int("cross_attention_dim", default: 1280)
        useLinearProjection = try c.bool("use_linear_projection", default: false)
        groups = try c.int("norm_num_groups", default: 32)
        normEps = Float(try c.double("norm_eps", default: 1e-5))
        flipSinToCos = try c.bool("flip_sin_to_cos", default: true)
        freqShift = Float(try c.double("freq_shift", default: 0))
        downsamplePadding = try c.int("downsample_padding", default: 1)
        separableConv = try c.boolOrList("md_separable_conv", count: n, default: false)
        selfAttention = try c.boolOrList("md_self_attention", count: n, default: true)
        midSelfAttention = try c.bool("md_mid_block_self_attention", default: true)
        midLayers = try c.optionalInt("md_mid_block_layers") ?? transformerLayers[n - 1]
        sharedKV = try c.bool("md_shared_kv", default: false)
        let ff = try c.string("md_ff_activation", default: "geglu")
        guard let ffa = FeedForwardActivation(rawValue: ff) else {
            throw EngineError.config(path: c.path, field: "md_ff_activation", reason: "'\(ff)' is not supported (geglu, swiglu)")
        }
        ffActivation = ffa
        ffMult = try c.int("md_ff_mult", default: 4)
        let aa = try c.string("md_attention_activation", default: "softmax")
        guard let att = AttentionActivation(rawValue: aa) else {
            throw EngineError.config(path: c.path, field: "md_attention_activation", reason: "'\(aa)' is not supported (softmax, relu)")
        }
        attentionActivation = att
        positionBands = try c.int("md_position_bands", default: 0)
        guard (0...16).contains(positionBands) else {
            throw EngineError.config(path: c.path, field: "md_position_bands", reason: "\(positionBands) is outside 0...16")
        }
        guard ffMult >= 1, midLayers >= 1 else {
            throw EngineError.config(path: c.path, field: "md_ff_mult", reason: "md_ff_mult and md_mid_block_layers must be ≥ 1")
        }
        try Self.rejectUnsupported(c)
        // Counts used as divisors and loop bounds: a 0 here trapped the process (libFuzzer found num_attention_heads 0).
        let headsField = c.has("num_attention_heads") ? "num_attention_heads" : "attention_head_dim"
        for (field, values) in [(headsField, heads), ("layers_per_block", layersPerBlock), ("transformer_layers_per_block", transformerLayers)] {
            if let (i, v) = values.enumerated().first(where: { $0.element < 1 }) {
                throw EngineError.config(path: c.path, field: field, reason: "block \(i): \(v) must be ≥ 1")
            }
        }
        for (i, ch) in blockOutChannels.enumerated() where ch % heads[i] != 0 {
            throw EngineError.config(path: c.path, field: "attention_head_dim", reason: "block \(i): \(ch) channels are not divisible by \(heads[i]) heads")
        }
    }

    private static func check(_ c: ConfigReader, _ field: String, _ v: [String], allowed: [String], count: Int) throws {
        guard v.count == count else {
            throw EngineError.config(path: c.path, field: field, reason: "has \(v.count) entries, block_out_channels has \(count)")
        }
        if let bad = v.first(where: { !allowed.contains($0) }) {
            throw EngineError.config(path: c.path, field: field, reason: "'\(bad)' is not supported (\(allowed.joined(separator: ", ")))")
        }
    }

    /// Options of SD-family variants this engine does not run (SDXL add-embeddings, LCM w-embedding, …).
    private static func rejectUnsupported(_ c: ConfigReader) throws {
        for key in ["class_embed_type", "addition_embed_type", "encoder_hid_dim", "time_cond_proj_dim",
                    "num_class_embeds", "timestep_post_act", "reverse_transformer_layers_per_block"] {
            try c.require(key, in: [nil])
        }
        for key in ["time_embedding_dim", "time_embedding_act_fn", "cross_attention_norm", "encoder_hid_dim_type",
                    "projection_class_embeddings_input_dim", "addition_time_embed_dim"] {
            try c.require(key, in: [nil])
        }
        try c.require("mid_block_scale_factor", in: [nil, "1"])
        try c.require("resnet_out_scale_factor", in: [nil, "1"])
        try c.require("resnet_skip_time_act", in: [nil, "false"])
        try c.require("class_embeddings_concat", in: [nil, "false"])
        try c.require("act_fn", in: [nil, "silu"])
        try c.require("time_embedding_type", in: [nil, "positional"])
        try c.require("resnet_time_scale_shift", in: [nil, "default"])
        try c.require("center_input_sample", in: [nil, "false"])
        try c.require("dual_cross_attention", in: [nil, "false"])
        try c.require("conv_in_kernel", in: [nil, "3"])
        try c.require("conv_out_kernel", in: [nil, "3"])
        try c.require("attention_type", in: [nil, "default"])
        if c.json["cross_attention_dim"] is [Any] {
            throw EngineError.config(path: c.path, field: "cross_attention_dim", reason: "a per-block list is not supported; use one integer")
        }
    }
}

/// The gate nonlinearity of the transformer feed-forward: hidden · act(gate).
public enum FeedForwardActivation: String, Sendable {
    case geglu, swiglu
}

/// How attention weights are formed from scores s = q·kᵀ/√d.
public enum AttentionActivation: String, Sendable {
    /// softmax(s) over keys.
    case softmax
    /// ReLU attention: relu(s) / L_k (L_k = number of keys).
    case relu
}
