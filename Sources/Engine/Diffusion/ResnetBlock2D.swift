/// diffusers' ResnetBlock2D (diffusers/models/resnet.py), default time-embedding norm:
/// h = conv1(act(norm1(x))) + time_emb_proj(act(temb)); h = conv2(act(norm2(h))); out = shortcut(x) + h.
struct ResnetBlock2D {
    let norm1: GroupNorm, conv1: Conv2d
    let timeProj: Linear?
    let norm2: GroupNorm, conv2: Conv2d
    let shortcut: Conv2d?

    init(_ w: WeightStore, _ p: String, in i: Int, out o: Int, tembChannels: Int?, groups: Int, eps: Float) throws {
        norm1 = try w.groupNorm(p + ".norm1", groups: groups, channels: i, eps: eps)
        conv1 = try w.conv(p + ".conv1", in: i, out: o, kernel: 3)
        timeProj = try tembChannels.map { try w.linear(p + ".time_emb_proj", in: $0, out: o) }
        norm2 = try w.groupNorm(p + ".norm2", groups: groups, channels: o, eps: eps)
        conv2 = try w.conv(p + ".conv2", in: o, out: o, kernel: 3)
        shortcut = i != o ? try w.conv(p + ".conv_shortcut", in: i, out: o, kernel: 1) : nil
    }

    /// x: [N, Cin, H, W], temb: [N, T] (already passed through SiLU) → [N, Cout, H, W]
    func callAsFunction(_ x: Tensor, temb: Tensor?) -> Tensor {
        var h = conv1(norm1(x, silu: true))
        if let timeProj, let temb { Elementwise.addChannelBias(&h, timeProj(temb)) }
        norm2.apply(&h, silu: true)
        h = conv2(h)
        Elementwise.add(&h, shortcut.map { $0(x) } ?? x)
        return h
    }
}
