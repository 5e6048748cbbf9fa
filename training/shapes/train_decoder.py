"""Stage 1b: fine-tunes the VAE's decoder alone, encoder frozen, as MobileDiffusion does for its lightweight
decoder. The latent space does not move, so it can run while (or after) the UNet trains on cached latents.

Why: after stage 1 the decoder drew small squares and triangles (half-extent 9 px, two latent cells) as round
blobs — ShapesEval on plain reconstructions read only 66 % of held-out single objects right. Here the Sobel-edge
term weighs 4x more and foreground pixels 10x. Resumable in $MDD_TRAIN_DIR/vae-decoder; writes
$MDD_TRAIN_DIR/vae/final-decoder (a complete AutoencoderKL: stage-1 encoder, fine-tuned decoder).

  python -m shapes.train_decoder --steps 800          (from training/; needs $MDD_TRAIN_DIR/vae/final)

A second round continues from the first's decoder on fresh scenes with more weight on small objects, whose corners
were still the decoder's main failure (nearly every misread reconstruction was a small square or triangle read
as a circle):

  python -m shapes.train_decoder --init final-decoder --name vae-decoder2 --out final-decoder2 --seed 12 \
      --small-weight 3 --threads 2 --lr 2e-4 --steps 1200          (11.9 min on 2 cores)

and a third on the 11-px small objects (grammar.SIZES; the ceiling on small single objects 82 → 92 % seen pairs,
61 → 77 % held-out pairs):

  python -m shapes.train_decoder --init final-decoder2 --name vae-decoder3 --out final-decoder3 --seed 13 \
      --small-weight 3 --threads 2 --lr 2e-4 --steps 800           (the shipped decoder; 8.1 min on 2 cores)
"""
import argparse
import json
import math
import os
import time

import torch
import torch.nn.functional as F
from diffusers import AutoencoderKL

from .data import batch
from .latents import train_root
from .train_vae import LATENT_NOISE, background_of, foreground_weight, psnr, sobel


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=800)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--edge", type=float, default=2.0)
    ap.add_argument("--fg", type=float, default=10.0)
    ap.add_argument("--save-every", type=int, default=50)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--init", default="final", help="the AutoencoderKL folder under $MDD_TRAIN_DIR/vae to start from")
    ap.add_argument("--name", default="vae-decoder", help="run folder (checkpoint, log) under $MDD_TRAIN_DIR")
    ap.add_argument("--out", default="final-decoder", help="result folder under $MDD_TRAIN_DIR/vae")
    ap.add_argument("--seed", type=int, default=11, help="data seed (a continuation wants scenes the first run did not see)")
    ap.add_argument("--small-weight", type=float, default=1.0,
                    help="multiplies the foreground weight of images whose objects are small (grammar.SIZES)")
    ap.add_argument("--extra-colours", action="store_true", help="scenes also in grammar.TRAIN_ONLY_COLORS")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    root = train_root()
    out = os.path.join(root, a.name)
    os.makedirs(out, exist_ok=True)
    vae = AutoencoderKL.from_pretrained(os.path.join(root, "vae", a.init))
    vae.encoder.requires_grad_(False)
    vae.quant_conv.requires_grad_(False)
    params = list(vae.decoder.parameters()) + list(vae.post_quant_conv.parameters())
    opt = torch.optim.AdamW(params, lr=a.lr, weight_decay=0.0)
    step, elapsed = 0, 0.0
    ckpt = os.path.join(out, "checkpoint.pt")
    if os.path.exists(ckpt):
        s = torch.load(ckpt)
        vae.load_state_dict(s["model"]); opt.load_state_dict(s["opt"])
        step, elapsed = s["step"], s["elapsed"]
        print(f"resumed at step {step}")
    log = open(os.path.join(out, "log.jsonl"), "a")
    x_val, _, _ = batch(seed=999, step=0, size=32)
    while step < a.steps:
        t0 = time.time()
        torch.manual_seed(5000 + step)
        for g in opt.param_groups:
            g["lr"] = a.lr * 0.5 * (1 + math.cos(math.pi * step / a.steps))
        x, _, scenes = batch(seed=a.seed, step=step, size=a.batch, extra_colours=a.extra_colours)
        with torch.no_grad():
            z = vae.encode(x).latent_dist.mean
        y = vae.decode(z + LATENT_NOISE * torch.randn_like(z)).sample
        gx, gy = sobel(x)
        hx, hy = sobel(y)
        small = torch.tensor([a.small_weight if all(o.size == "small" for o in s.objects) else 1.0 for s in scenes])
        w = foreground_weight(x, background_of(scenes), fg=a.fg * small.view(-1, 1, 1, 1))  # [B, 1, H, W]
        err = (y - x).abs() + (y - x) ** 2
        loss = (w * err).mean() + a.edge * (F.l1_loss(hx, gx) + F.l1_loss(hy, gy))
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        elapsed += time.time() - t0
        if step % a.save_every == 0 or step == a.steps:
            with torch.no_grad():
                v = psnr(vae.decode(vae.encode(x_val).latent_dist.mean).sample, x_val)
            rec = {"step": step, "loss": loss.item(), "val_psnr": v, "minutes": elapsed / 60, "images_seen": step * a.batch}
            log.write(json.dumps(rec) + "\n")
            log.flush()
            torch.save({"model": vae.state_dict(), "opt": opt.state_dict(), "step": step, "elapsed": elapsed}, ckpt + ".tmp")
            os.replace(ckpt + ".tmp", ckpt)
            print("saved", rec, flush=True)
    vae.save_pretrained(os.path.join(root, "vae", a.out))
    print("done")


if __name__ == "__main__":
    main()
