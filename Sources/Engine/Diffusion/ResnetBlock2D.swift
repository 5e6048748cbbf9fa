/// diffusers' ResnetBlock2D (diffusers/models/resnet.py), default time-embedding norm:
/// h = conv1(act(norm1(x))) + time_emb_proj(act(temb)); h = conv2(act(norm2(h))); out = shortcut(x) + h.
///
/// With `separable` (MobileDiffusion), conv1 and conv2 are depthwise 3x3 (no bias) + pointwise 1x1.
struct ResnetBlock2D {
    let norm1: GroupNorm, conv1: Conv3x3
    let timeProj: Linear?
    let norm2: GroupNorm, conv2: Conv3x3
    let shortcut: Conv2d?

    init(_ w: WeightStore, _ p: String, in i: Int, out o: Int, tembChannels: Int?, groups: Int, eps: Float, separable: Bool = false) throws {
        norm1 = try w.groupNorm(p + ".norm1", groups: groups, channels: i, eps: eps)
        conv1 = try Conv3x3(w, p + ".conv1", in: i, out: o, separable: separable)
        timeProj = try tembChannels.map { try w.linear(p + ".time_emb_proj", in: $0, out: o) }
        norm2 = try w.groupNorm(p + ".norm2", groups: groups, channels: o, eps: eps)
        conv2 = try Conv3x3(w, p + ".conv2", in: o, out: o, separable: separable)
        shortcut = i != o ? try w.conv(p + ".conv_shortcut", in: i, out: o, kernel: 1) : nil
    }

    /// x: [N, Cin, H, W], temb: [N, T] (already passed through SiLU) → [N, Cout, H, W]
    func callAsFunction(_ x: Tensor, temb: Tensor?) -> Tensor {
        var h = conv1(normalizing: x, with: norm1)
        if let timeProj, let temb { Elementwise.addChannelBias(&h, timeProj(temb)) }
        h = conv2(normalizing: h, with: norm2)
        Elementwise.add(&h, shortcut.map { $0(x) } ?? x)
        return h
    }
}

/// A 3x3 convolution, full or depthwise-separable (keys `<p>.depthwise`, `<p>.pointwise`).
enum Conv3x3 {
    case full(Conv2d)
    case separable(depthwise: Conv2d, pointwise: Conv2d)

    init(_ w: WeightStore, _ p: String, in i: Int, out o: Int, separable: Bool) throws {
        if separable {
            self = .separable(depthwise: try w.conv(p + ".depthwise", in: i, out: i, kernel: 3, groups: i, bias: false),
                              pointwise: try w.conv(p + ".pointwise", in: i, out: o, kernel: 1))
        } else {
            self = .full(try w.conv(p, in: i, out: o, kernel: 3))
        }
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        switch self {
        case .full(let c): return c(x)
        case let .separable(d, p): return p(d(x))
        }
    }

    /// self(SiLU(norm(x))): fused into the convolution where it runs Winograd (`Conv2d.callAsFunction(_:normalizedBy:
    /// silu:)`), else normalised in place first (no copy when the caller passes its last use of x).
    func callAsFunction(normalizing x: consuming Tensor, with norm: GroupNorm) -> Tensor {
        if case .full(let c) = self, c.fusesNorm(h: x.h, w: x.w) { return c(x, normalizedBy: norm, silu: true) }
        var y = x
        norm.apply(&y, silu: true)
        return self(y)
    }
}
