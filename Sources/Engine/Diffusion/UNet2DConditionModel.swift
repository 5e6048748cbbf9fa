import Foundation

/// diffusers' UNet2DConditionModel (diffusers/models/unets/unet_2d_condition.py) with CrossAttnDownBlock2D,
/// DownBlock2D, UNetMidBlock2DCrossAttn, CrossAttnUpBlock2D and UpBlock2D (unet_2d_blocks.py).
public final class UNet2DConditionModel: @unchecked Sendable {
    struct Block {
        var resnets: [ResnetBlock2D]
        var attentions: [Transformer2DModel]
        /// Downsample2D (3x3 stride 2) or Upsample2D (nearest 2x, then 3x3), if the block has one.
        var resample: Conv2d?
    }

    public let config: UNetConfig
    /// Number of weights loaded.
    public let parameters: Int
    let timeLinear1: Linear, timeLinear2: Linear
    let convIn: Conv2d
    let down: [Block]
    let mid: Block?
    let up: [Block]
    let normOut: GroupNorm
    let convOut: Conv2d

    /// Loads `config.json` and `diffusion_pytorch_model.safetensors` from a `unet/` folder. `bf16Weights`: linear
    /// layers and im2col convs keep bf16 weights only (`WeightStore.bf16Weights`).
    public init(folder: String, source: WeightSource = .file, bf16Weights: Bool = false) throws {
        config = try UNetConfig(ConfigReader(path: folder + "/config.json"))
        let w = try WeightStore(path: folder + "/diffusion_pytorch_model.safetensors", source: source)
        w.bf16Weights = bf16Weights
        let c = config, ch = c.blockOutChannels
        timeLinear1 = try w.linear("time_embedding.linear_1", in: ch[0], out: c.timeEmbedDim)
        timeLinear2 = try w.linear("time_embedding.linear_2", in: c.timeEmbedDim, out: c.timeEmbedDim)
        convIn = try w.conv("conv_in", in: c.inChannels, out: ch[0], kernel: 3)
        down = try Self.loadDown(w, c)
        mid = try c.midBlockType == nil ? nil : Self.loadMid(w, c)
        up = try Self.loadUp(w, c)
        normOut = try w.groupNorm("conv_norm_out", groups: c.groups, channels: ch[0], eps: c.normEps)
        convOut = try w.conv("conv_out", in: ch[0], out: c.outChannels, kernel: 3)
        try w.checkAllUsed()
        parameters = w.parameterCount
    }

    private static func loadDown(_ w: WeightStore, _ c: UNetConfig) throws -> [Block] {
        var output = c.blockOutChannels[0]
        return try c.downBlockTypes.enumerated().map { i, type in
            let input = output
            output = c.blockOutChannels[i]
            let p = "down_blocks.\(i)"
            var block = Block(resnets: [], attentions: [], resample: nil)
            for j in 0..<c.layersPerBlock[i] {
                block.resnets.append(try ResnetBlock2D(w, "\(p).resnets.\(j)", in: j == 0 ? input : output, out: output,
                                                       tembChannels: c.timeEmbedDim, groups: c.groups, eps: c.normEps, separable: c.separableConv[i]))
                if type == "CrossAttnDownBlock2D" {
                    block.attentions.append(try Transformer2DModel(w, "\(p).attentions.\(j)", channels: output,
                                                                   UNet2DConditionModel.options(c, i)))
                }
            }
            if i < c.blockOutChannels.count - 1 {
                block.resample = try w.conv("\(p).downsamplers.0.conv", in: output, out: output, kernel: 3, stride: 2, padding: c.downsamplePadding)
            }
            return block
        }
    }

    private static func loadMid(_ w: WeightStore, _ c: UNetConfig) throws -> Block {
        let ch = c.blockOutChannels.last!, last = c.blockOutChannels.count - 1
        var o = options(c, last)
        o.onlyCross = false  // UNetMidBlock2DCrossAttn never uses only_cross_attention
        o.layers = c.midLayers
        o.selfAttention = c.midSelfAttention
        return Block(
            resnets: try (0..<2).map { try ResnetBlock2D(w, "mid_block.resnets.\($0)", in: ch, out: ch, tembChannels: c.timeEmbedDim, groups: c.groups, eps: c.normEps, separable: c.separableConv[last]) },
            attentions: [try Transformer2DModel(w, "mid_block.attentions.0", channels: ch, o)],
            resample: nil)
    }

    private static func loadUp(_ w: WeightStore, _ c: UNetConfig) throws -> [Block] {
        let rev = Array(c.blockOutChannels.reversed()), n = rev.count
        var output = rev[0]
        return try c.upBlockTypes.enumerated().map { i, type in
            let prev = output
            output = rev[i]
            let input = rev[min(i + 1, n - 1)]
            let level = n - 1 - i  // the matching down level, whose per-block options apply (diffusers reverses them)
            let p = "up_blocks.\(i)"
            var block = Block(resnets: [], attentions: [], resample: nil)
            let layers = c.layersPerBlock[level] + 1
            for j in 0..<layers {
                let skip = j == layers - 1 ? input : output
                let resIn = j == 0 ? prev : output
                block.resnets.append(try ResnetBlock2D(w, "\(p).resnets.\(j)", in: resIn + skip, out: output,
                                                       tembChannels: c.timeEmbedDim, groups: c.groups, eps: c.normEps, separable: c.separableConv[level]))
                if type == "CrossAttnUpBlock2D" {
                    block.attentions.append(try Transformer2DModel(w, "\(p).attentions.\(j)", channels: output, options(c, level)))
                }
            }
            if i < n - 1 { block.resample = try w.conv("\(p).upsamplers.0.conv", in: output, out: output, kernel: 3) }
            return block
        }
    }

    static func options(_ c: UNetConfig, _ i: Int) -> Transformer2DModel.Options {
        .init(heads: c.heads[i], layers: c.transformerLayers[i], contextDim: c.crossAttentionDim, groups: c.groups,
              linearProjection: c.useLinearProjection, onlyCross: c.onlyCrossAttention[i], selfAttention: c.selfAttention[i],
              sharedKV: c.sharedKV, ffActivation: c.ffActivation, ffMult: c.ffMult, attentionActivation: c.attentionActivation,
              positionBands: c.positionBands)
    }
}
