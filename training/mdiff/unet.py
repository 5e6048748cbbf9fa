"""MobileDiffusion-style UNet in PyTorch, key-compatible with diffusers' UNet2DConditionModel.

With every `md_*` option at its default this is numerically diffusers' UNet2DConditionModel for the supported
block types (CrossAttnDownBlock2D/DownBlock2D/UNetMidBlock2DCrossAttn/CrossAttnUpBlock2D/UpBlock2D); the fixture
script checks that by loading the same state dict into both. MobileDiffusion options (Zhao et al. 2023, §3):

  md_separable_conv      [bool per level]  ResNet 3x3 convs as depthwise 3x3 (no bias) + pointwise 1x1
                                           (keys conv1.depthwise / conv1.pointwise); up blocks use their level.
  md_self_attention      [bool per level]  False: transformer blocks have no self-attention (no norm1/attn1),
                                           only cross-attention and the feed-forward.
  md_mid_block_self_attention  bool        the same for the mid block (default True)
  md_mid_block_layers    int               transformer layers in the mid block (default: the last level's)
  md_shared_kv           bool              one projection for keys and values (to_k only; V = K)
  md_ff_activation       "geglu"|"swiglu"  gated feed-forward: hidden * gelu(gate) or hidden * silu(gate)
  md_ff_mult             int               feed-forward expansion (4 in SD, 6 in MobileDiffusion)
  md_attention_activation "softmax"|"relu" ReLU attention: A = relu(q·kᵀ/√d) / L_k, out = A·v
  md_position_bands      int               0: none. B > 0: every Transformer2DModel adds pos_proj(F) to its tokens
                                           after proj_in, F = fixed Fourier features of each token's normalised
                                           centre (see fourier_positions), pos_proj a Linear(4B, C) (zero-initialised)
"""
import json
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

DEFAULTS = dict(
    in_channels=4, out_channels=4, sample_size=64, block_out_channels=(320, 640, 1280, 1280), layers_per_block=2,
    down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
    up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3, mid_block_type="UNetMidBlock2DCrossAttn",
    attention_head_dim=8, num_attention_heads=None, transformer_layers_per_block=1, only_cross_attention=False,
    cross_attention_dim=1280, use_linear_projection=False, norm_num_groups=32, norm_eps=1e-5, flip_sin_to_cos=True,
    freq_shift=0, downsample_padding=1,
    md_separable_conv=False, md_self_attention=True, md_mid_block_self_attention=True, md_mid_block_layers=None,
    md_shared_kv=False, md_ff_activation="geglu", md_ff_mult=4, md_attention_activation="softmax",
    md_position_bands=0,
)


def per_block(v, n):
    return list(v) if isinstance(v, (list, tuple)) else [v] * n


def load_unet_config(path):
    with open(path) as f:
        return json.load(f)


class SeparableConv(nn.Module):
    """Depthwise 3x3 (no bias) then pointwise 1x1."""

    def __init__(self, cin, cout):
        super().__init__()
        self.depthwise = nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False)
        self.pointwise = nn.Conv2d(cin, cout, 1)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


def conv3x3(cin, cout, separable):
    return SeparableConv(cin, cout) if separable else nn.Conv2d(cin, cout, 3, padding=1)


class ResnetBlock2D(nn.Module):
    def __init__(self, cin, cout, temb, groups, eps, separable):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin, eps=eps)
        self.conv1 = conv3x3(cin, cout, separable)
        self.time_emb_proj = nn.Linear(temb, cout)
        self.norm2 = nn.GroupNorm(groups, cout, eps=eps)
        self.conv2 = conv3x3(cout, cout, separable)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time_emb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.conv_shortcut(x) if self.conv_shortcut is not None else x) + h


class Attention(nn.Module):
    def __init__(self, dim, context_dim, heads, shared_kv, activation):
        super().__init__()
        kv = context_dim or dim
        self.heads, self.shared_kv, self.activation = heads, shared_kv, activation
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_k = nn.Linear(kv, dim, bias=False)
        self.to_v = None if shared_kv else nn.Linear(kv, dim, bias=False)
        self.to_out = nn.ModuleList([nn.Linear(dim, dim), nn.Dropout(0.0)])

    def forward(self, x, context=None):
        c = x if context is None else context
        b, lq, d = x.shape
        h = self.heads
        q = self.to_q(x).view(b, lq, h, d // h).transpose(1, 2)
        k = self.to_k(c).view(b, c.shape[1], h, d // h).transpose(1, 2)
        v = k if self.to_v is None else self.to_v(c).view(b, c.shape[1], h, d // h).transpose(1, 2)
        if self.activation == "relu":
            a = F.relu(q @ k.transpose(-1, -2) / math.sqrt(d // h)) / k.shape[2]
            o = a @ v
        else:
            o = F.scaled_dot_product_attention(q, k, v)
        return self.to_out[0](o.transpose(1, 2).reshape(b, lq, d))


class FeedForward(nn.Module):
    def __init__(self, dim, mult, activation):
        super().__init__()
        inner = dim * mult
        self.activation = activation
        proj = nn.Module()
        proj.proj = nn.Linear(dim, inner * 2)
        self.net = nn.ModuleList([proj, nn.Dropout(0.0), nn.Linear(inner, dim)])

    def forward(self, x):
        hidden, gate = self.net[0].proj(x).chunk(2, dim=-1)
        act = F.gelu(gate) if self.activation == "geglu" else F.silu(gate)
        return self.net[2](hidden * act)


class TransformerBlock(nn.Module):
    def __init__(self, dim, context_dim, heads, only_cross, self_attention, cfg):
        super().__init__()
        self.only_cross, self.self_attention = only_cross, self_attention
        if self_attention:
            self.norm1 = nn.LayerNorm(dim, eps=1e-5)
            self.attn1 = Attention(dim, context_dim if only_cross else None, heads, cfg["md_shared_kv"], cfg["md_attention_activation"])
        self.norm2 = nn.LayerNorm(dim, eps=1e-5)
        self.attn2 = Attention(dim, context_dim, heads, cfg["md_shared_kv"], cfg["md_attention_activation"])
        self.norm3 = nn.LayerNorm(dim, eps=1e-5)
        self.ff = FeedForward(dim, cfg["md_ff_mult"], cfg["md_ff_activation"])

    def forward(self, x, context):
        if self.self_attention:
            x = x + self.attn1(self.norm1(x), context if self.only_cross else None)
        x = x + self.attn2(self.norm2(x), context)
        return x + self.ff(self.norm3(x))


def fourier_positions(h, w, bands, device=None):
    """[h*w, 4*bands] float32: for each token (row-major, as the tokens are ordered) of an h x w map, with centre
    u = (x + 0.5) / w, v = (y + 0.5) / h in (0, 1): [sin(2^k·π·u) for k < bands, cos(2^k·π·u) …, sin(2^k·π·v) …,
    cos(2^k·π·v) …]. Normalised, so a word like "left" means the same region at every latent size. Convolutions
    alone only learn where they are from zero padding, which this small UNet had not learned after 600k images."""
    freqs = (2.0 ** torch.arange(bands, dtype=torch.float32, device=device)) * math.pi  # [B]
    u = (torch.arange(w, dtype=torch.float32, device=device) + 0.5) / w
    v = (torch.arange(h, dtype=torch.float32, device=device) + 0.5) / h
    fu, fv = u[:, None] * freqs, v[:, None] * freqs  # [w, B], [h, B]
    fx = torch.cat([torch.sin(fu), torch.cos(fu)], dim=1)  # [w, 2B]
    fy = torch.cat([torch.sin(fv), torch.cos(fv)], dim=1)  # [h, 2B]
    return torch.cat([fx[None, :, :].expand(h, w, -1), fy[:, None, :].expand(h, w, -1)], dim=2).reshape(h * w, 4 * bands)


class Transformer2DModel(nn.Module):
    def __init__(self, channels, context_dim, heads, layers, groups, linear, only_cross, self_attention, cfg):
        super().__init__()
        self.linear = linear
        self.bands = cfg["md_position_bands"]
        if self.bands:
            self.pos_proj = nn.Linear(4 * self.bands, channels)
            nn.init.zeros_(self.pos_proj.weight)  # zero: adding it to a trained UNet starts as the same function
            nn.init.zeros_(self.pos_proj.bias)
        self.norm = nn.GroupNorm(groups, channels, eps=1e-6)
        self.proj_in = nn.Linear(channels, channels) if linear else nn.Conv2d(channels, channels, 1)
        self.transformer_blocks = nn.ModuleList(
            [TransformerBlock(channels, context_dim, heads, only_cross, self_attention, cfg) for _ in range(layers)])
        self.proj_out = nn.Linear(channels, channels) if linear else nn.Conv2d(channels, channels, 1)

    def forward(self, x, context):
        b, c, hh, ww = x.shape
        h = self.norm(x)
        if self.linear:
            h = self.proj_in(h.permute(0, 2, 3, 1).reshape(b, hh * ww, c))
        else:
            h = self.proj_in(h).permute(0, 2, 3, 1).reshape(b, hh * ww, c)
        if self.bands:
            h = h + self.pos_proj(fourier_positions(hh, ww, self.bands, h.device).to(h.dtype))  # [HW, C] broadcast over B
        for blk in self.transformer_blocks:
            h = blk(h, context)
        if self.linear:
            h = self.proj_out(h).reshape(b, hh, ww, c).permute(0, 3, 1, 2)
        else:
            h = self.proj_out(h.reshape(b, hh, ww, c).permute(0, 3, 1, 2))
        return h + x


class Sampler(nn.Module):
    def __init__(self, ch, padding=1, stride=1):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, stride=stride, padding=padding)


class MDUNet2DConditionModel(nn.Module):
    def __init__(self, **config):
        super().__init__()
        cfg = {**DEFAULTS, **{k: v for k, v in config.items() if not k.startswith("_")}}
        self.config = cfg
        ch = list(cfg["block_out_channels"])
        n = len(ch)
        heads = per_block(cfg["num_attention_heads"] or cfg["attention_head_dim"], n)
        layers = per_block(cfg["layers_per_block"], n)
        tlayers = per_block(cfg["transformer_layers_per_block"], n)
        only_cross = per_block(cfg["only_cross_attention"], n)
        separable = per_block(cfg["md_separable_conv"], n)
        self_attn = per_block(cfg["md_self_attention"], n)
        g, eps, ctx, lin = cfg["norm_num_groups"], cfg["norm_eps"], cfg["cross_attention_dim"], cfg["use_linear_projection"]
        temb = ch[0] * 4
        self.time_embedding = nn.Module()
        self.time_embedding.linear_1 = nn.Linear(ch[0], temb)
        self.time_embedding.linear_2 = nn.Linear(temb, temb)
        self.conv_in = nn.Conv2d(cfg["in_channels"], ch[0], 3, padding=1)

        def transformer(c, i, nl=None, sa=None):
            return Transformer2DModel(c, ctx, heads[i], nl or tlayers[i], g, lin, only_cross[i], self_attn[i] if sa is None else sa, cfg)

        self.down_blocks = nn.ModuleList()
        out = ch[0]
        for i, kind in enumerate(cfg["down_block_types"]):
            inp, out = out, ch[i]
            blk = nn.Module()
            blk.resnets = nn.ModuleList([ResnetBlock2D(inp if j == 0 else out, out, temb, g, eps, separable[i]) for j in range(layers[i])])
            blk.attentions = nn.ModuleList([transformer(out, i) for _ in range(layers[i])]) if kind == "CrossAttnDownBlock2D" else None
            blk.downsamplers = nn.ModuleList([Sampler(out, cfg["downsample_padding"], 2)]) if i < n - 1 else None
            self.down_blocks.append(blk)
        self.mid_block = nn.Module()
        self.mid_block.resnets = nn.ModuleList([ResnetBlock2D(ch[-1], ch[-1], temb, g, eps, separable[-1]) for _ in range(2)])
        mid_only_cross = only_cross
        self.mid_block.attentions = nn.ModuleList([Transformer2DModel(
            ch[-1], ctx, heads[-1], cfg["md_mid_block_layers"] or tlayers[-1], g, lin, False,
            cfg["md_mid_block_self_attention"], cfg)])
        del mid_only_cross
        self.up_blocks = nn.ModuleList()
        rev = ch[::-1]
        out = rev[0]
        for i, kind in enumerate(cfg["up_block_types"]):
            level = n - 1 - i
            prev, out, inp = out, rev[i], rev[min(i + 1, n - 1)]
            blk = nn.Module()
            nl = layers[level] + 1
            blk.resnets = nn.ModuleList([
                ResnetBlock2D((prev if j == 0 else out) + (inp if j == nl - 1 else out), out, temb, g, eps, separable[level]) for j in range(nl)])
            blk.attentions = nn.ModuleList([transformer(out, level) for _ in range(nl)]) if kind == "CrossAttnUpBlock2D" else None
            blk.upsamplers = nn.ModuleList([Sampler(out)]) if i < n - 1 else None
            self.up_blocks.append(blk)
        self.conv_norm_out = nn.GroupNorm(g, ch[0], eps=eps)
        self.conv_out = nn.Conv2d(ch[0], cfg["out_channels"], 3, padding=1)

    def time_features(self, t):
        dim = self.config["block_out_channels"][0]
        half = dim // 2
        exponent = -math.log(10000) * torch.arange(0, half, dtype=torch.float32, device=t.device) / (half - self.config["freq_shift"])
        emb = t[:, None].float() * torch.exp(exponent)[None, :]
        emb = torch.cat([torch.sin(emb), torch.cos(emb)], dim=-1)
        return torch.cat([emb[:, half:], emb[:, :half]], dim=-1) if self.config["flip_sin_to_cos"] else emb

    def encode(self, sample, timestep, encoder_hidden_states):
        """The down path and mid block only: [B, C_last, h, w] features (a DiffusionGAN discriminator's trunk)."""
        t = timestep if torch.is_tensor(timestep) else torch.tensor([timestep], dtype=torch.float32)
        t = t.expand(sample.shape[0])
        temb = self.time_embedding.linear_2(F.silu(self.time_embedding.linear_1(self.time_features(t))))
        x = self.conv_in(sample)
        for blk in self.down_blocks:
            for j, r in enumerate(blk.resnets):
                x = r(x, temb)
                if blk.attentions is not None:
                    x = blk.attentions[j](x, encoder_hidden_states)
            if blk.downsamplers is not None:
                x = blk.downsamplers[0].conv(x)
        x = self.mid_block.resnets[0](x, temb)
        x = self.mid_block.attentions[0](x, encoder_hidden_states)
        return self.mid_block.resnets[1](x, temb)

    def forward(self, sample, timestep, encoder_hidden_states):
        t = timestep if torch.is_tensor(timestep) else torch.tensor([timestep], dtype=torch.float32)
        t = t.expand(sample.shape[0])
        temb = self.time_embedding.linear_2(F.silu(self.time_embedding.linear_1(self.time_features(t))))
        x = self.conv_in(sample)
        skips = [x]
        for blk in self.down_blocks:
            for j, r in enumerate(blk.resnets):
                x = r(x, temb)
                if blk.attentions is not None:
                    x = blk.attentions[j](x, encoder_hidden_states)
                skips.append(x)
            if blk.downsamplers is not None:
                x = blk.downsamplers[0].conv(x)
                skips.append(x)
        x = self.mid_block.resnets[0](x, temb)
        x = self.mid_block.attentions[0](x, encoder_hidden_states)
        x = self.mid_block.resnets[1](x, temb)
        for blk in self.up_blocks:
            for j, r in enumerate(blk.resnets):
                x = r(torch.cat([x, skips.pop()], dim=1), temb)
                if blk.attentions is not None:
                    x = blk.attentions[j](x, encoder_hidden_states)
            if blk.upsamplers is not None:
                x = blk.upsamplers[0].conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))
        return self.conv_out(F.silu(self.conv_norm_out(x)))

    def save_config(self, folder):
        import os
        os.makedirs(folder, exist_ok=True)
        out = {"_class_name": "UNet2DConditionModel", "_mdiff": "training/mdiff MobileDiffusion reference"}
        for k, v in self.config.items():
            out[k] = list(v) if isinstance(v, tuple) else v
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(out, f, indent=2)
