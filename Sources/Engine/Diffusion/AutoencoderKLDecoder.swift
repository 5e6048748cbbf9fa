/// The decoder half of diffusers' AutoencoderKL (diffusers/models/autoencoders/autoencoder_kl.py and vae.py
/// `Decoder`): post_quant_conv → conv_in → mid (resnet, attention, resnet) → up blocks → norm, SiLU, conv_out.
public final class AutoencoderKLDecoder: VAEDecoder, @unchecked Sendable {
    /// Single-head spatial self-attention of the VAE mid block (group_norm → q,k,v → to_out → + residual).
    struct SpatialAttention {
        let norm: GroupNorm
        let attention: Attention

        func callAsFunction(_ x: Tensor) -> Tensor {
            let t = Resample.toTokens(norm(x))
            var out = Resample.fromTokens(attention(t), h: x.h, w: x.w)
            Elementwise.add(&out, x)
            return out
        }
    }

    public let latentChannels: Int
    public let parameters: Int
    public let scaleFactor: Int
    public let scalingFactor: Float
    public let shiftFactor: Float
    let postQuantConv: Conv2d?
    let convIn: Conv2d
    let midResnets: [ResnetBlock2D]
    let midAttention: SpatialAttention?
    let upBlocks: [(resnets: [ResnetBlock2D], upsample: Conv2d?)]
    let normOut: GroupNorm
    let convOut: Conv2d

    init(folder: String, config c: ConfigReader, source: WeightSource) throws {
        let channels = try c.ints("block_out_channels", default: [64])
        let layers = try c.int("layers_per_block", default: 1)
        let groups = try c.int("norm_num_groups", default: 32)
        latentChannels = try c.int("latent_channels", default: 4)
        scaleFactor = 1 << (channels.count - 1)
        scalingFactor = Float(try c.double("scaling_factor", default: 0.18215))
        shiftFactor = Float(try c.double("shift_factor", default: 0))
        try c.require("act_fn", in: [nil, "silu"])
        if c.has("up_block_types"), let bad = try c.strings("up_block_types").first(where: { $0 != "UpDecoderBlock2D" }) {
            throw EngineError.config(path: c.path, field: "up_block_types", reason: "'\(bad)' is not supported (UpDecoderBlock2D)")
        }
        let w = try WeightStore(path: folder + "/diffusion_pytorch_model.safetensors", source: source)
        w.winogradConvs = true
        let top = channels.last!, eps: Float = 1e-6
        postQuantConv = try c.bool("use_post_quant_conv", default: true)
            ? try w.conv("post_quant_conv", in: latentChannels, out: latentChannels, kernel: 1) : nil
        convIn = try w.conv("decoder.conv_in", in: latentChannels, out: top, kernel: 3)
        midResnets = try (0..<2).map { try ResnetBlock2D(w, "decoder.mid_block.resnets.\($0)", in: top, out: top, tembChannels: nil, groups: groups, eps: eps) }
        midAttention = try c.bool("mid_block_add_attention", default: true) ? SpatialAttention(
            norm: try w.groupNorm("decoder.mid_block.attentions.0.group_norm", groups: groups, channels: top, eps: eps),
            attention: try Attention(w, "decoder.mid_block.attentions.0", dim: top, contextDim: nil, heads: 1, innerDim: top, qkvBias: true)) : nil
        var ups: [(resnets: [ResnetBlock2D], upsample: Conv2d?)] = []
        let rev = Array(channels.reversed())
        var output = rev[0]
        for (i, ch) in rev.enumerated() {
            let prev = output
            output = ch
            let p = "decoder.up_blocks.\(i)"
            let resnets = try (0...layers).map { j in
                try ResnetBlock2D(w, "\(p).resnets.\(j)", in: j == 0 ? prev : output, out: output, tembChannels: nil, groups: groups, eps: eps)
            }
            let up = i < rev.count - 1 ? try w.conv("\(p).upsamplers.0.conv", in: output, out: output, kernel: 3) : nil
            ups.append((resnets, up))
        }
        upBlocks = ups
        normOut = try w.groupNorm("decoder.conv_norm_out", groups: groups, channels: channels[0], eps: eps)
        convOut = try w.conv("decoder.conv_out", in: channels[0], out: try c.int("out_channels", default: 3), kernel: 3)
        try w.checkAllUsed(ignoring: ["encoder.", "quant_conv."])
        parameters = w.parameterCount
    }

    public func decode(_ z: Tensor, check: () throws -> Void) rethrows -> Tensor {
        var x = convIn(postQuantConv.map { $0(z) } ?? z)
        x = midResnets[0](x, temb: nil)
        if let midAttention { x = midAttention(x) }
        x = midResnets[1](x, temb: nil)
        for block in upBlocks {
            try check()  // the up blocks at full resolution are most of the decoder's time
            for r in block.resnets { x = r(x, temb: nil) }
            if let up = block.upsample { x = up(Resample.nearest2x(x)) }
        }
        return convOut(normOut(x, silu: true))
    }
}
