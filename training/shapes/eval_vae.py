"""Stage-1 quality on held-out images: PSNR and SSIM of VAE reconstructions (posterior mean → decoder), over
scenes of both splits (seen colour–shape pairs, and the held-out pairs no training image contains), plus ShapesEval
on the reconstructions: the ceiling the diffusion model can reach through this decoder.

  python -m shapes.eval_vae [--count 300]          (from training/)
  python -m shapes.eval_vae --small-only [--small-radius 9]   (small single objects only, drawn at that radius:
                                                               how the decoder's ceiling depends on the small size)
"""
import argparse
import json
import os
import random

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import AutoencoderKL

from .evaluate import analyse, score, summarize
from .grammar import SIZES, sample_scene
from .latents import train_root
from .render import render


def ssim(a, b):
    """Mean SSIM of [B, 3, H, W] images in [0, 1], 11x11 Gaussian window (σ 1.5), per channel (Wang et al. 2004)."""
    g = torch.exp(-((torch.arange(11) - 5.0) ** 2) / (2 * 1.5 ** 2))
    w = (g[:, None] * g[None, :] / g.sum() ** 2).expand(3, 1, 11, 11)
    mu_a, mu_b = F.conv2d(a, w, groups=3), F.conv2d(b, w, groups=3)
    saa = F.conv2d(a * a, w, groups=3) - mu_a ** 2
    sbb = F.conv2d(b * b, w, groups=3) - mu_b ** 2
    sab = F.conv2d(a * b, w, groups=3) - mu_a * mu_b
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    return (((2 * mu_a * mu_b + c1) * (2 * sab + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (saa + sbb + c2))).mean(dim=(1, 2, 3))


def draw(rng, split, i, small_only):
    """The i-th evaluation scene: the three kinds in turn, or (small_only) single scenes with a small object."""
    while True:
        s = sample_scene(rng, split=split, kind="single" if small_only else ["single", "count", "relation"][i % 3])
        if not small_only or s.objects[0].size == "small":
            return s


@torch.no_grad()
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--which", default="final-decoder", help="final (stage 1) or final-decoder (stage 1b)")
    ap.add_argument("--small-only", action="store_true", help="single-object scenes of size small only")
    ap.add_argument("--small-radius", type=int, help="draw small objects at this half-extent (grammar.SIZES)")
    a = ap.parse_args()
    if a.small_radius:
        SIZES["small"] = a.small_radius  # render() reads the table at draw time
    torch.set_num_threads(1)
    ap_dir = os.path.join(train_root(), "vae", a.which)
    vae = AutoencoderKL.from_pretrained(ap_dir).eval()
    rng = random.Random(4242)  # a seed no training batch uses
    report = {}
    for split in ["train", "heldout"]:
        scenes = [draw(rng, split, i, a.small_only) for i in range(a.count)]
        imgs = np.stack([render(s) for s in scenes])
        x = torch.from_numpy(imgs).permute(0, 3, 1, 2).float() / 127.5 - 1
        y = torch.cat([vae.decode(vae.encode(x[i:i + 50]).latent_dist.mean).sample for i in range(0, len(x), 50)]).clamp(-1, 1)
        x01, y01 = (x + 1) / 2, (y + 1) / 2
        mse = ((x01 - y01) ** 2).mean(dim=(1, 2, 3))
        out = ((y01 * 255).round().byte().permute(0, 2, 3, 1).numpy())
        results = [(s, score(s, analyse(o))) for s, o in zip(scenes, out)]
        report[split] = {"images": a.count, "psnr_db": float((10 * torch.log10(1 / mse)).mean()),
                         "ssim": float(ssim(x01, y01).mean()), "shapes_eval": summarize(results)}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
