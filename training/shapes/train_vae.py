"""Stage 1 of the default model: an AutoencoderKL with an 8-channel latent, factor 8 (128x128 → 16x16x8), and a
lightweight decoder, trained on rendered shapes (held-out colour–shape pairs excluded).

Loss: L1 + L2 + an edge term (L1 between Sobel gradients, so corners stay sharp) + a small L2 on the latent, with
the decoder fed the posterior mean plus small noise (see below); foreground
pixels (those that differ from the background colour) weighted 5x so small objects are not drowned by background. Resumable:
checkpoints go to $MDD_TRAIN_DIR/vae (default ~/mdd-train/vae) every --save-every steps; rerunning continues.

  python -m shapes.train_vae --steps 3000          (from training/)
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
from .grammar import BACKGROUNDS, DEFAULT_BACKGROUND

VAE_CONFIG = dict(in_channels=3, out_channels=3, latent_channels=8, block_out_channels=(16, 16, 32, 64), layers_per_block=1,
                  down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4, norm_num_groups=16,
                  sample_size=128, mid_block_add_attention=False)
# Channels (16, 16, 32, 64): the decoder costs 0.89 GFLOP at 128x128 (1.94 with 16/32/64/64), which the 50 ms
# end-to-end budget needs. norm_num_groups=4: with 16 channels at full resolution, 16 groups would make the
# decoder's last GroupNorm an instance norm, which erases every channel's image-wide mean (the background colour)
# right before conv_out (a first run with 16 groups plateaued at 19.9 dB with washed-out colours).
VAE_CONFIG["norm_num_groups"] = 4


def sobel(x):
    kx = torch.tensor([[1, 0, -1], [2, 0, -2], [1, 0, -1]], dtype=x.dtype).view(1, 1, 3, 3).repeat(3, 1, 1, 1)
    gx = F.conv2d(x, kx, padding=1, groups=3)
    gy = F.conv2d(x, kx.transpose(2, 3), padding=1, groups=3)
    return gx, gy


LATENT_NOISE = 0.1


def background_of(scenes):
    """[B, 3, 1, 1] background colours in [-1, 1]."""
    rgb = [BACKGROUNDS[s.background] if s.background else DEFAULT_BACKGROUND for s in scenes]
    return (torch.tensor(rgb, dtype=torch.float32) / 127.5 - 1).view(-1, 3, 1, 1)


def foreground_weight(x, bg, fg=5.0):
    """[B, 1, H, W]: fg where a pixel differs from its image's background colour bg [B, 3, 1, 1], 1 elsewhere; fg is
    one number or one per image ([B, 1, 1, 1])."""
    return 1 + (fg - 1) * ((x - bg).abs().amax(1, keepdim=True) > 0.02).float()


def psnr(a, b):
    mse = F.mse_loss((a.clamp(-1, 1) + 1) / 2, (b + 1) / 2).item()
    return 10 * math.log10(1 / max(mse, 1e-10))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=24)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--save-every", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    out = os.path.join(os.environ.get("MDD_TRAIN_DIR", os.path.expanduser("~/mdd-train")), "vae")
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    vae = AutoencoderKL(**VAE_CONFIG)
    opt = torch.optim.AdamW(vae.parameters(), lr=a.lr, weight_decay=0.0)
    step, elapsed = 0, 0.0
    ckpt = os.path.join(out, "checkpoint.pt")
    if os.path.exists(ckpt):
        state = torch.load(ckpt)
        vae.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step, elapsed = state["step"], state["elapsed"]
        print(f"resumed at step {step}")
    log = open(os.path.join(out, "log.jsonl"), "a")
    x_val, _, _ = batch(seed=999, step=0, size=32)  # a fixed held-out-from-training validation batch (other seed)
    while step < a.steps:
        t0 = time.time()
        lr = a.lr * 0.5 * (1 + math.cos(math.pi * step / a.steps))
        for g in opt.param_groups:
            g["lr"] = lr
        x, _, scenes = batch(seed=1, step=step, size=a.batch)
        post = vae.encode(x).latent_dist
        # The posterior mean plus small fixed noise, not post.sample(): with a tiny KL weight the learned variance
        # shrinks far too slowly on this budget, and decoding through noise that large washed out every colour
        # (measured: 20 dB after 1,000 steps). The variance head stays untrained; use the mean (mode) to encode.
        z = post.mean + LATENT_NOISE * torch.randn_like(post.mean)
        y = vae.decode(z).sample
        gx, gy = sobel(x)
        hx, hy = sobel(y)
        reg = post.mean.pow(2).mean()  # keeps the latent scale bounded (the KL's role here)
        w = foreground_weight(x, background_of(scenes))
        err = (y - x).abs() + (y - x) ** 2
        loss = (w * err).mean() + 0.5 * (F.l1_loss(hx, gx) + F.l1_loss(hy, gy)) + 1e-4 * reg
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        elapsed += time.time() - t0
        if step % 25 == 0:
            print(f"step {step} loss {loss.item():.4f} lr {lr:.2e} {elapsed / 60:.1f} min", flush=True)
        if step % a.save_every == 0 or step == a.steps:
            with torch.no_grad():
                v = psnr(vae.decode(vae.encode(x_val).latent_dist.mode()).sample, x_val)
            rec = {"step": step, "loss": loss.item(), "val_psnr": v, "minutes": elapsed / 60, "images_seen": step * a.batch}
            log.write(json.dumps(rec) + "\n")
            log.flush()
            torch.save({"model": vae.state_dict(), "opt": opt.state_dict(), "step": step, "elapsed": elapsed}, ckpt + ".tmp")
            os.replace(ckpt + ".tmp", ckpt)
            print("saved", rec, flush=True)
    with torch.no_grad():
        zs = torch.cat([vae.encode(batch(seed=7, step=i, size=32)[0]).latent_dist.mode() for i in range(4)])
    scaling = 1.0 / zs.std().item()
    vae.register_to_config(scaling_factor=scaling)
    vae.save_pretrained(os.path.join(out, "final"))
    print(f"done: scaling_factor {scaling:.4f}")


if __name__ == "__main__":
    main()
