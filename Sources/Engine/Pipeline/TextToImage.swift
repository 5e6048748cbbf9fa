import Foundation

/// The text-to-image pipeline over a diffusers model folder, mirroring StableDiffusionPipeline.__call__
/// (diffusers/pipelines/stable_diffusion/pipeline_stable_diffusion.py). Load once, render many; `render` is
/// serialised by a lock, so one instance serves one renderer at a time.
public final class TextToImage: @unchecked Sendable {
    /// The engine's version, recorded in every PNG.
    public static let engineVersion = "mdd-engine 0.1.0"

    public let folder: String
    public let modelName: String
    public let tokenizer: CLIPTokenizer
    public let textEncoder: CLIPTextModel
    public let unet: UNet2DConditionModel
    public let vae: VAEDecoder
    public let schedulerName: String
    /// SHA-256 over the weight files (text encoder, UNet, VAE), identifying the exact weights.
    public let weightsSHA256: String
    let lock = NSLock()
    /// Text-encoder outputs by token ids (see EmbeddingCache); shared by every render of this instance.
    public let embeddings: EmbeddingCache

    /// zlib level of the PNGs `render` writes (0–9; see `PNGCodec.defaultCompression`). Set before rendering.
    public var pngCompression = PNGCodec.defaultCompression

    /// Operand precision of the products (see `Precision`; bf16 is recorded in each PNG). Set before rendering; an
    /// engine loaded for bf16 (`bf16Weights`) renders bf16 only.
    public var precision = Precision.fp32

    /// Whether the text encoder's and UNet's matrices are held in bf16 alone (loaded with `precision: .bf16` on a
    /// CPU with native bf16): half their memory, and fp32 renders are refused.
    public let bf16Weights: Bool

    /// Path of the scheduler config in use (the folder's, unless overridden).
    public let schedulerConfigPath: String

    /// Loads every component of a diffusers-format folder; errors name the file and field or tensor.
    /// `source: .random(seed:)` builds the model from its configs alone, with deterministic random weights.
    /// `embeddingCacheBytes` bounds the text-embedding cache (0 turns it off, as benchmarks do); engines made with
    /// `init(sharingWeightsOf:)` share it, as the daemon's workers do. `precision` sets `precision`; `.bf16` on a CPU
    /// with native bf16 also loads the text encoder's and UNet's matrices as bf16 only (`bf16Weights`).
    public init(folder: String, source: WeightSource = .file, schedulerConfig: String? = nil,
                embeddingCacheBytes: Int = 64 << 20, precision: Precision = .fp32) throws {
        self.folder = folder
        self.precision = precision
        bf16Weights = precision == .bf16 && GEMM.nativeBF16
        embeddings = EmbeddingCache(capacityBytes: embeddingCacheBytes)
        _ = try BLAS.get()
        _ = MemoryTuning.applied
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else {
            throw EngineError.file(path: folder, reason: "model folder does not exist")
        }
        let index = try? ConfigReader(path: folder + "/model_index.json")
        modelName = (index?.json["_name_or_path"] as? String).flatMap { $0.isEmpty ? nil : $0 } ?? URL(fileURLWithPath: folder).lastPathComponent
        let hasTokenizer = FileManager.default.fileExists(atPath: folder + "/tokenizer")
        textEncoder = try CLIPTextModel(folder: folder + "/text_encoder", source: source, bf16Weights: bf16Weights)
        tokenizer = source != .file && !hasTokenizer ? try CLIPTokenizer.byteLevel(maxLength: textEncoder.config.maxPositions)
                                                     : try CLIPTokenizer.load(folder: folder + "/tokenizer")
        unet = try UNet2DConditionModel(folder: folder + "/unet", source: source, bf16Weights: bf16Weights)
        vae = try loadVAEDecoder(folder: folder + "/vae", source: source)
        schedulerConfigPath = schedulerConfig ?? folder + "/scheduler/scheduler_config.json"
        schedulerName = try ConfigReader(path: schedulerConfigPath).string("_class_name", default: "EulerDiscreteScheduler")
        _ = try makeScheduler(configPath: schedulerConfigPath, steps: 1)
        try Self.checkCompatible(unet: unet.config, text: textEncoder.config, vae: vae, folder: folder)
        switch source {
        case .file: weightsSHA256 = try Self.fingerprint(folder: folder)
        case .random(let seed): weightsSHA256 = "random-weights-seed-\(seed)"
        }
    }

    /// Another engine over the same loaded weights and embedding cache, with its own render lock, so that both
    /// render at once: the layers are immutable after loading and every scratch buffer is per thread. The daemon's
    /// workers load and fingerprint a model once however many they are (one copy of the weights in memory).
    public init(sharingWeightsOf other: TextToImage) {
        folder = other.folder
        modelName = other.modelName
        tokenizer = other.tokenizer
        textEncoder = other.textEncoder
        unet = other.unet
        vae = other.vae
        schedulerName = other.schedulerName
        weightsSHA256 = other.weightsSHA256
        embeddings = other.embeddings
        schedulerConfigPath = other.schedulerConfigPath
        pngCompression = other.pngCompression
        precision = other.precision
        bf16Weights = other.bf16Weights
    }

    private static func checkCompatible(unet: UNetConfig, text: CLIPTextModel.Config, vae: VAEDecoder, folder: String) throws {
        guard unet.crossAttentionDim == text.hiddenSize else {
            throw EngineError.config(path: folder + "/unet/config.json", field: "cross_attention_dim", reason: "\(unet.crossAttentionDim) does not match the text encoder's hidden_size \(text.hiddenSize)")
        }
        guard unet.outChannels == vae.latentChannels else {
            throw EngineError.config(path: folder + "/vae/config.json", field: "latent_channels", reason: "\(vae.latentChannels) does not match the UNet's out_channels \(unet.outChannels)")
        }
    }

    /// SHA-256 of the three weight files' digests, so any change to any weight changes it.
    static func fingerprint(folder: String) throws -> String {
        var all = SHA256()
        for path in ["text_encoder/model.safetensors", "unet/diffusion_pytorch_model.safetensors", "vae/diffusion_pytorch_model.safetensors"] {
            let file = try MappedFile(path: folder + "/" + path)
            all.update(Array((path + ":" + file.sha256Hex()).utf8))
        }
        return all.finalizeHex()
    }

    /// Default output size: the UNet's sample_size times the VAE factor.
    public var defaultSize: Int { unet.config.sampleSize * vae.scaleFactor }
}
