import Foundation

/// The decoder of diffusers' AutoencoderTiny (TAESD; diffusers/models/autoencoders/vae.py `DecoderTiny`):
/// tanh clamp, conv, then per level AutoencoderTinyBlocks, nearest upsample and a conv; output mapped to [-1, 1].
public final class AutoencoderTinyDecoder: VAEDecoder, @unchecked Sendable {
    enum Layer {
        case conv(Conv2d)
        case relu
        case block(conv1: Conv2d, conv2: Conv2d, conv3: Conv2d, skip: Conv2d?)
        case upsample
    }

    public let latentChannels: Int
    public let parameters: Int
    public let scaleFactor: Int
    public let scalingFactor: Float
    public let shiftFactor: Float = 0
    let layers: [Layer]

    init(folder: String, config c: ConfigReader, source: WeightSource) throws {
        let channels = try c.ints("decoder_block_out_channels", default: [64, 64, 64, 64])
        let blocks = try c.ints("num_decoder_blocks", default: [3, 3, 3, 1])
        latentChannels = try c.int("latent_channels", default: 4)
        scalingFactor = Float(try c.double("scaling_factor", default: 1.0))
        let factor = try c.int("upsampling_scaling_factor", default: 2)
        try c.require("act_fn", in: [nil, "relu"])
        try c.require("upsample_fn", in: [nil, "nearest"])
        guard factor == 2 else { throw EngineError.config(path: c.path, field: "upsampling_scaling_factor", reason: "only 2 is supported, found \(factor)") }
        guard blocks.count == channels.count else {
            throw EngineError.config(path: c.path, field: "num_decoder_blocks", reason: "has \(blocks.count) entries, decoder_block_out_channels has \(channels.count)")
        }
        scaleFactor = 1 << (channels.count - 1)
        let w = try WeightStore(path: folder + "/diffusion_pytorch_model.safetensors", source: source)
        let outChannels = try c.int("out_channels", default: 3)
        var layers: [Layer] = []
        func key(_ s: String) -> String { "decoder.layers.\(layers.count)\(s)" }
        layers.append(.conv(try w.conv(key(""), in: latentChannels, out: channels[0], kernel: 3)))
        layers.append(.relu)
        for (i, n) in blocks.enumerated() {
            let ch = channels[i], last = i == blocks.count - 1
            for _ in 0..<n {
                layers.append(.block(conv1: try w.conv(key(".conv.0"), in: ch, out: ch, kernel: 3),
                                     conv2: try w.conv(key(".conv.2"), in: ch, out: ch, kernel: 3),
                                     conv3: try w.conv(key(".conv.4"), in: ch, out: ch, kernel: 3), skip: nil))
            }
            if !last { layers.append(.upsample) }
            layers.append(.conv(try w.conv(key(""), in: ch, out: last ? outChannels : ch, kernel: 3, bias: last)))
        }
        self.layers = layers
        try w.checkAllUsed(ignoring: ["encoder."])
        parameters = w.parameterCount
    }

    public func decode(_ z: Tensor, check: () throws -> Void) rethrows -> Tensor {
        var x = z
        for i in 0..<x.count { x.data[i] = tanhf(x.data[i] / 3) * 3 }
        for layer in layers {
            try check()
            switch layer {
            case .conv(let c): x = c(x)
            case .relu: Activation.relu.apply(&x)
            case .upsample: x = Resample.nearest2x(x)
            case let .block(c1, c2, c3, skip):
                var h = c1(x); Activation.relu.apply(&h)
                h = c2(h); Activation.relu.apply(&h)
                h = c3(h)
                Elementwise.add(&h, skip.map { $0(x) } ?? x)
                Activation.relu.apply(&h)
                x = h
            }
        }
        for i in 0..<x.count { x.data[i] = x.data[i] * 2 - 1 }
        return x
    }
}
