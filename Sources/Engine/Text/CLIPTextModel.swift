import Foundation

/// CLIP text encoder, mirroring transformers' CLIPTextModel
/// (transformers/models/clip/modeling_clip.py: CLIPTextTransformer): token + position embeddings, pre-LN
/// causal self-attention layers with an MLP, final layer norm; returns `last_hidden_state`.
public final class CLIPTextModel: @unchecked Sendable {
    /// The parts of `text_encoder/config.json` the forward pass uses.
    public struct Config: Sendable {
        public var hiddenSize: Int, intermediateSize: Int, heads: Int, layers: Int
        public var maxPositions: Int, vocabSize: Int
        public var activation: Activation
        public var layerNormEps: Float

        public init(_ c: ConfigReader) throws {
            hiddenSize = try c.int("hidden_size", default: 512)
            intermediateSize = try c.int("intermediate_size", default: 2048)
            heads = try c.int("num_attention_heads", default: 8)
            layers = try c.int("num_hidden_layers", default: 12)
            maxPositions = try c.int("max_position_embeddings", default: 77)
            vocabSize = try c.int("vocab_size", default: 49408)
            let act = try c.string("hidden_act", default: "quick_gelu")
            guard let a = Activation(name: act) else {
                throw EngineError.config(path: c.path, field: "hidden_act", reason: "'\(act)' is not supported (quick_gelu, gelu, gelu_pytorch_tanh, relu, silu)")
            }
            activation = a
            layerNormEps = Float(try c.double("layer_norm_eps", default: 1e-5))
            // Sizes are checked before any is used as a divisor or an allocation (fuzzing found 0 heads trapping).
            for (field, value) in [("hidden_size", hiddenSize), ("intermediate_size", intermediateSize), ("num_attention_heads", heads),
                                   ("num_hidden_layers", layers), ("max_position_embeddings", maxPositions), ("vocab_size", vocabSize)]
            where !(1...1_000_000).contains(value) {
                throw EngineError.config(path: c.path, field: field, reason: "\(value) is outside 1…1000000")
            }
            guard hiddenSize % heads == 0 else {
                throw EngineError.config(path: c.path, field: "num_attention_heads", reason: "hidden_size \(hiddenSize) is not divisible by \(heads) heads")
            }
        }
    }

    struct Layer {
        let norm1: LayerNorm, q: Linear, k: Linear, v: Linear, out: Linear
        let norm2: LayerNorm, fc1: Linear, fc2: Linear
    }

    public let config: Config
    /// Number of weights loaded.
    public let parameters: Int
    /// [vocab, D]: fp32, or in a bf16-only model its bf16 rounding alone (CLIP ViT-L's 49,408 × 768 table is 152 MB
    /// in fp32, the largest tensor a bf16 text encoder would otherwise keep in fp32).
    let tokenEmbedding: Tensor
    let tokenEmbeddingBF16: BF16Copy?
    let positionEmbedding: Tensor // [positions, D]
    let layers: [Layer]
    let finalNorm: LayerNorm

    /// Loads `config.json` and `model.safetensors` from a `text_encoder/` folder. `bf16Weights`: the linear layers
    /// keep bf16 weights only (`WeightStore.bf16Weights`).
    public init(folder: String, source: WeightSource = .file, bf16Weights: Bool = false) throws {
        let config = try Config(ConfigReader(path: folder + "/config.json"))
        self.config = config
        let w = try WeightStore(path: folder + "/model.safetensors", source: source, optionalPrefix: "text_model.")
        w.bf16Weights = bf16Weights
        let d = config.hiddenSize, e = config.layerNormEps
        let table = try w.tensor("text_model.embeddings.token_embedding.weight", shape: [config.vocabSize, d])
        tokenEmbeddingBF16 = bf16Weights ? BF16Copy(of: table.data) : nil
        tokenEmbedding = bf16Weights ? Tensor(placeholder: table.shape) : table
        positionEmbedding = try w.tensor("text_model.embeddings.position_embedding.weight", shape: [config.maxPositions, d])
        layers = try (0..<config.layers).map { i in
            let p = "text_model.encoder.layers.\(i)."
            return Layer(
                norm1: try w.layerNorm(p + "layer_norm1", dim: d, eps: e),
                q: try w.linear(p + "self_attn.q_proj", in: d, out: d), k: try w.linear(p + "self_attn.k_proj", in: d, out: d),
                v: try w.linear(p + "self_attn.v_proj", in: d, out: d), out: try w.linear(p + "self_attn.out_proj", in: d, out: d),
                norm2: try w.layerNorm(p + "layer_norm2", dim: d, eps: e),
                fc1: try w.linear(p + "mlp.fc1", in: d, out: config.intermediateSize),
                fc2: try w.linear(p + "mlp.fc2", in: config.intermediateSize, out: d))
        }
        finalNorm = try w.layerNorm("text_model.final_layer_norm", dim: d, eps: e)
        // position_ids is a buffer older transformers saved; projections belong to CLIPTextModelWithProjection.
        try w.checkAllUsed(ignoring: ["position_ids", "text_projection", "logit_scale", "vision_model."])
        parameters = w.parameterCount
    }

    /// ids: [N][L] token ids → last_hidden_state [N, L, D].
    public func callAsFunction(_ ids: [[Int32]]) throws -> Tensor {
        let n = ids.count, l = ids[0].count, d = config.hiddenSize
        guard l <= config.maxPositions else { throw EngineError.invalidRequest("\(l) tokens exceed max_position_embeddings \(config.maxPositions)") }
        var x = Tensor(empty: [n, l, d])
        for (b, row) in ids.enumerated() {
            for (t, id) in row.enumerated() {
                guard id >= 0 && Int(id) < config.vocabSize else { throw EngineError.invalidRequest("token id \(id) outside vocabulary of \(config.vocabSize)") }
                let row = Int(id) * d, at = (b * l + t) * d
                if let bits = tokenEmbeddingBF16?.values {
                    for j in 0..<d { x.data[at + j] = Float(bitPattern: UInt32(bits[row + j]) << 16) + positionEmbedding.data[t * d + j] }
                } else {
                    for j in 0..<d { x.data[at + j] = tokenEmbedding.data[row + j] + positionEmbedding.data[t * d + j] }
                }
            }
        }
        for layer in layers { x = forward(layer, x) }
        return finalNorm(x)
    }

    private func forward(_ layer: Layer, _ x: Tensor) -> Tensor {
        var h = x
        let y = layer.norm1(x)
        let attn = AttentionKernel.forward(q: layer.q(y), k: layer.k(y), v: layer.v(y), heads: config.heads, causal: true)
        Elementwise.add(&h, layer.out(attn))
        var m = layer.fc1(layer.norm2(h))
        config.activation.apply(&m)
        Elementwise.add(&h, layer.fc2(m))
        return h
    }
}
