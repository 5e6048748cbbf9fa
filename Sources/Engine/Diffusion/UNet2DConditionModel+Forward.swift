import Foundation

extension UNet2DConditionModel {
    /// Sinusoidal timestep features as diffusers' `get_timestep_embedding`, in float32: [N, block_out_channels[0]].
    static func timestepFeatures(_ t: [Float], dim: Int, flipSinToCos: Bool, freqShift: Float) -> Tensor {
        let half = dim / 2
        let freqs = (0..<half).map { i in expf(Float(-log(10000.0)) * Float(i) / (Float(half) - freqShift)) }
        var out = Tensor(zeros: [t.count, dim])
        for (b, tb) in t.enumerated() {
            for i in 0..<half {
                let arg = tb * freqs[i]
                let (s, c) = (sinf(arg), cosf(arg))
                out.data[b * dim + i] = flipSinToCos ? c : s
                out.data[b * dim + half + i] = flipSinToCos ? s : c
            }
        }
        return out
    }

    /// The time embedding MLP output after SiLU, as every ResNet block consumes it: [N, timeEmbedDim].
    func timeEmbedding(_ t: [Float]) -> Tensor {
        let f = Self.timestepFeatures(t, dim: config.blockOutChannels[0], flipSinToCos: config.flipSinToCos, freqShift: config.freqShift)
        var h = timeLinear1(f)
        Activation.silu.apply(&h)
        var emb = timeLinear2(h)
        Activation.silu.apply(&emb)  // ResnetBlock2D applies its nonlinearity to temb before time_emb_proj
        return emb
    }

    /// sample: [N, Cin, h, w], timestep per batch row, context: [N, S, crossAttentionDim] → [N, Cout, h, w]
    public func callAsFunction(_ sample: Tensor, timesteps: [Float], context: Tensor) -> Tensor {
        callAsFunction(sample, timesteps: timesteps, context: context, check: {})
    }

    /// The same forward pass, calling `check` before each down, mid and up block; whatever it throws (a canceled
    /// render) ends the pass there.
    public func callAsFunction(_ sample: Tensor, timesteps: [Float], context: Tensor, check: () throws -> Void) rethrows -> Tensor {
        let temb = timeEmbedding(timesteps)
        var x = convIn(sample)
        var skips = [x]
        for block in down {
            try check()
            for (j, resnet) in block.resnets.enumerated() {
                x = resnet(x, temb: temb)
                if !block.attentions.isEmpty { x = block.attentions[j](x, context: context) }
                skips.append(x)
            }
            if let conv = block.resample { x = conv(x); skips.append(x) }
        }
        if let mid {
            try check()
            x = mid.resnets[0](x, temb: temb)
            x = mid.attentions[0](x, context: context)
            x = mid.resnets[1](x, temb: temb)
        }
        for block in up {
            try check()
            for (j, resnet) in block.resnets.enumerated() {
                x = resnet(concatChannels(x, skips.removeLast()), temb: temb)
                if !block.attentions.isEmpty { x = block.attentions[j](x, context: context) }
            }
            if let conv = block.resample { x = conv(Resample.nearest2x(x)) }
        }
        return convOut(normOut(x, silu: true))
    }
}
