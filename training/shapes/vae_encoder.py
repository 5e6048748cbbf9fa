"""The stage-1 VAE's encoder in plain PyTorch, from its diffusers safetensors: the GPU training machine has no
diffusers (and the package is too large to carry there), but stages 2 and 3 need fresh latents of fresh scenes.

Covers the AutoencoderKL configuration train_vae.py trains: DownEncoderBlock2D blocks with ResnetBlock2D, no
mid-block attention, GroupNorm eps 1e-6, quant_conv. `python -m shapes.vae_encoder` checks it against diffusers
on random scenes (max abs difference printed; must be < 1e-4).
"""
import json
import os

import torch
import torch.nn.functional as F
from safetensors.torch import load_file


class VAEEncoder:
    """Posterior mean × scaling factor: [B, 3, 128, 128] in [-1, 1] → [B, 8, 16, 16]."""

    def __init__(self, folder, device="cpu"):
        with open(os.path.join(folder, "config.json")) as f:
            self.config = json.load(f)
        if self.config.get("mid_block_add_attention", True):
            raise ValueError(f"{folder}: mid-block attention is not supported by this encoder")
        w = load_file(os.path.join(folder, "diffusion_pytorch_model.safetensors"))
        self.w = {k: v.float().to(device) for k, v in w.items() if k.startswith(("encoder.", "quant_conv."))}
        self.groups = self.config["norm_num_groups"]
        self.levels = len(self.config["block_out_channels"])
        self.layers = self.config["layers_per_block"]

    def conv(self, x, name, stride=1, padding=1):
        return F.conv2d(x, self.w[name + ".weight"], self.w[name + ".bias"], stride=stride, padding=padding)

    def norm(self, x, name):
        return F.group_norm(x, self.groups, self.w[name + ".weight"], self.w[name + ".bias"], eps=1e-6)

    def resnet(self, x, name):
        h = self.conv(F.silu(self.norm(x, name + ".norm1")), name + ".conv1")
        h = self.conv(F.silu(self.norm(h, name + ".norm2")), name + ".conv2")
        if name + ".conv_shortcut.weight" in self.w:
            x = self.conv(x, name + ".conv_shortcut", padding=0)
        return x + h

    @torch.no_grad()
    def __call__(self, x):
        h = self.conv(x, "encoder.conv_in")
        for i in range(self.levels):
            for j in range(self.layers):
                h = self.resnet(h, f"encoder.down_blocks.{i}.resnets.{j}")
            if i < self.levels - 1:  # diffusers' Downsample2D with padding 0: pad right/bottom, 3x3 stride 2
                h = self.conv(F.pad(h, (0, 1, 0, 1)), f"encoder.down_blocks.{i}.downsamplers.0.conv", stride=2, padding=0)
        h = self.resnet(h, "encoder.mid_block.resnets.0")
        h = self.resnet(h, "encoder.mid_block.resnets.1")
        h = self.conv(F.silu(self.norm(h, "encoder.conv_norm_out")), "encoder.conv_out")
        moments = self.conv(h, "quant_conv", padding=0)
        return moments[:, : self.config["latent_channels"]] * self.config["scaling_factor"]


if __name__ == "__main__":
    from diffusers import AutoencoderKL

    from .data import batch
    from .latents import train_root

    folder = os.path.join(train_root(), "vae", "final")
    x, _, _ = batch(seed=9, step=0, size=8)
    ref = AutoencoderKL.from_pretrained(folder).eval()
    with torch.no_grad():
        want = ref.encode(x).latent_dist.mean * ref.config.scaling_factor
    got = VAEEncoder(folder)(x)
    diff = (got - want).abs().max().item()
    print(f"max |ours - diffusers| = {diff:.3g} over {tuple(want.shape)}")
    assert diff < 1e-4
