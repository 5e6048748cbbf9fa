/// A VAE decoder turning latents into images in [-1, 1]; AutoencoderKL and AutoencoderTiny implement it.
public protocol VAEDecoder: Sendable {
    /// Latent channels the decoder expects.
    var latentChannels: Int { get }
    /// Number of decoder weights loaded.
    var parameters: Int { get }
    /// Spatial upsampling factor from latent to image.
    var scaleFactor: Int { get }
    /// Multiplier the pipeline divides latents by before decoding (`scaling_factor`).
    var scalingFactor: Float { get }
    /// Added after the division (`shift_factor`, 0 for SD-family VAEs).
    var shiftFactor: Float { get }
    /// z: [N, latentChannels, h, w] (already scaled) → image [N, 3, h*f, w*f] in about [-1, 1]; `check` is
    /// called between blocks, and whatever it throws (a canceled render) ends the decode there.
    func decode(_ z: Tensor, check: () throws -> Void) rethrows -> Tensor
}

extension VAEDecoder {
    /// z: [N, latentChannels, h, w] (already scaled) → image [N, 3, h*f, w*f] in about [-1, 1]
    public func decode(_ z: Tensor) -> Tensor { decode(z, check: {}) }
}

/// Loads the `vae/` folder's decoder, choosing the class from `config.json`'s `_class_name`.
public func loadVAEDecoder(folder: String, source: WeightSource = .file) throws -> VAEDecoder {
    let c = try ConfigReader(path: folder + "/config.json")
    switch try c.string("_class_name", default: "AutoencoderKL") {
    case "AutoencoderKL": return try AutoencoderKLDecoder(folder: folder, config: c, source: source)
    case "AutoencoderTiny": return try AutoencoderTinyDecoder(folder: folder, config: c, source: source)
    case let other:
        throw EngineError.config(path: c.path, field: "_class_name", reason: "'\(other)' is not supported (AutoencoderKL, AutoencoderTiny)")
    }
}
