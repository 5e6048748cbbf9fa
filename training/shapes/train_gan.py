"""Stage 3 of the default model: DiffusionGAN (UFOGen-style) fine-tuning for one-step sampling.

Generator and discriminator both start from the pre-trained UNet (stage 2, EMA weights). For real latents x0 (the cached
dataset) and t = 999 with probability --p-final (the step one-step sampling uses), else t ~ U[0, 999]: x_t ~ q(x_t | x0); the generator predicts v̂ and x̂0 = √ᾱ_t·x_t − √(1−ᾱ_t)·v̂. Real and generated
samples are re-noised to an earlier step s = ⌊t·u⌋ (u ~ U[0, 1)) with q(x_s | x0) and q(x_s | x̂0); the
discriminator (the UNet's down path and mid block + a linear head, conditioned on s and the text) separates
them with the non-saturating loss. The generator minimises that adversarial loss plus λ·‖x̂0 − x0‖²
(reconstruction). Sampling is then one DDIM step at t = 999, which is exactly the x̂0 above.
With --pairs (shapes.teacher_pairs), P more rows per step start at t = 999 from the teacher's own noise x_T: the
generator also minimises --distill·‖x̂0 − teacher(x_T)‖² (the teacher's 25-step sample, a sharp target where the
reconstruction at t = 999 has the mean of all images the prompt allows as its optimum), and their re-noised x̂0 join
the discriminator's fakes; the shipped model ran it with --p-final 0, so the pair rows are the only t = 999 rows.
Resumable in $MDD_TRAIN_DIR/distill; export with `python -m shapes.export --checkpoint distill`.
"""
import argparse
import contextlib
import copy
import json
import math
import os
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import teacher_pairs
from .latents import LatentCache
from .tail_swap import TailSwap
from .model_configs import alphas_cumprod, unet_config_of
from .train_unet import build, ema_update, latent_mse, load_weights, token_ids, train_dir


class Discriminator(nn.Module):
    def __init__(self, unet):
        super().__init__()
        self.trunk = unet
        ch = unet.config["block_out_channels"][-1]
        self.head = nn.Sequential(nn.GroupNorm(32, ch), nn.SiLU(), nn.Conv2d(ch, ch, 3, padding=1), nn.SiLU(),
                                  nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(ch, 1))

    def forward(self, x, t, context):
        return self.head(self.trunk.encode(x, t, context)).squeeze(-1)


def gan_step(unet, disc, g_opt, d_opt, x0, ctx, alphas, p_final, rec_weight, amp=contextlib.nullcontext, fg_weight=0.0,
             pairs=None, distill_weight=0.0, gen_context=None):
    """One update of the discriminator, then of the generator, on real latents x0 [B, 8, 16, 16] with text context
    ctx; returns (d_loss, adv, rec, distill). Random draws in a fixed order (t, s, then the three noises), so a
    resumed run draws the same. `amp`: the context the networks run in (bf16 autocast on the GPU).

    pairs = (x_T [P, 8, 16, 16], teacher sample [P, 8, 16, 16], context [P, L, D]) from shapes.teacher_pairs adds P
    one-step generations from the teacher's own noise: their re-noised outputs join the fakes the discriminator
    sees, and distill_weight·‖G(x_T) − teacher(x_T)‖² joins the generator's loss.

    gen_context [B + P, L, D]: what the generator reads instead of the prompts' own contexts (shapes.tail_swap); the
    discriminator always judges against the prompts' own."""
    B, dev = x0.shape[0], x0.device
    t = torch.where(torch.rand(B, device=dev) < p_final, 999, torch.randint(0, 1000, (B,), device=dev))
    s = (t.float() * torch.rand(B, device=dev)).long()
    at = alphas[t].view(-1, 1, 1, 1)
    xt = at.sqrt() * x0 + (1 - at).sqrt() * torch.randn_like(x0)
    fake_ctx = ctx
    if pairs is not None:  # the pair rows start at t = 999 from the teacher's x_T
        x_T, target, pair_ctx = pairs
        P = x_T.shape[0]
        t = torch.cat([t, torch.full((P,), 999, device=dev)])
        s = torch.cat([s, (999 * torch.rand(P, device=dev)).long()])
        at = alphas[t].view(-1, 1, 1, 1)
        xt, fake_ctx = torch.cat([xt, x_T]), torch.cat([ctx, pair_ctx])
    as_ = alphas[s].view(-1, 1, 1, 1)
    with amp():
        x0_hat = at.sqrt() * xt - (1 - at).sqrt() * unet(xt, t.float(), fake_ctx if gen_context is None else gen_context).float()
        real = as_[:B].sqrt() * x0 + (1 - as_[:B]).sqrt() * torch.randn_like(x0)
        fake = as_.sqrt() * x0_hat + (1 - as_).sqrt() * torch.randn_like(x0_hat)
        d_loss = (F.softplus(-disc(real, s[:B].float(), ctx)).mean()
                  + F.softplus(disc(fake.detach(), s.float(), fake_ctx)).mean())
    d_opt.zero_grad(set_to_none=True)
    d_loss.backward()
    d_opt.step()
    # Generator step: fool the discriminator, stay close to the data (and to the teacher's samples).
    with amp():
        adv = F.softplus(-disc(fake, s.float(), fake_ctx)).mean()
    rec = latent_mse(x0_hat[:B], x0, x0, fg_weight)
    distill = latent_mse(x0_hat[B:], target, target, fg_weight) if pairs is not None else torch.zeros(())
    g_opt.zero_grad(set_to_none=True)
    (adv + rec_weight * rec + distill_weight * distill).backward()
    torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
    g_opt.step()
    return d_loss, adv, rec, distill


def learning_rate(base, decay, step, steps):
    """The learning rate of step `step` (0-based) of `steps`: constant, or a cosine from base to 0. A function of the
    step alone, so a resumed run continues the same schedule (the optimisers' saved lr is overwritten every step)."""
    return base if decay == "constant" else base * 0.5 * (1 + math.cos(math.pi * step / steps))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--lr-decay", choices=["constant", "cosine"], default="constant",
                    help="cosine: both learning rates fall from --lr to 0 at --steps (set --steps before starting)")
    ap.add_argument("--ema", type=float, default=0.995, help="EMA decay of the generator (short runs need a short horizon)")
    ap.add_argument("--rec", type=float, default=1.0, help="weight of the reconstruction loss")
    ap.add_argument("--save-every", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data-seed", type=int, default=2, help="which latent cache (shapes.latents --seed)")
    ap.add_argument("--p-final", type=float, default=0.5,
                    help="share of samples at t = 999, the only step one-step sampling uses; the rest t ~ U[0, 999]")
    ap.add_argument("--fg-weight", type=float, default=0.0, help="extra reconstruction weight of object pixels (train_unet.foreground_weights)")
    ap.add_argument("--pairs", help="shapes.teacher_pairs file names, comma-separated: adds the distillation term on the "
                                    "teacher's samples")
    ap.add_argument("--pair-batch", type=int, default=16, help="teacher pairs per step (with --pairs)")
    ap.add_argument("--distill", type=float, default=1.0, help="weight of the distillation term (with --pairs)")
    ap.add_argument("--name", default="distill", help="run folder under $MDD_TRAIN_DIR")
    ap.add_argument("--tail-swap", type=float, default=0.0,
                    help="share of single/count prompts whose text states after the colour word the generator reads from a "
                         "twin of another colour (shapes.tail_swap)")
    ap.add_argument("--teacher", default="unet", help="the stage-2 run folder whose EMA weights start both networks")
    ap.add_argument("--generator", help="a stage-3 run folder whose generator EMA starts the generator instead (continuing a "
                                        "distillation whose discriminator was not kept, e.g. gpu-distill)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    out = train_dir(a.name)
    data = LatentCache(a.data_seed)
    pairs = teacher_pairs.load_many(a.pairs) if a.pairs else None
    alphas = alphas_cumprod()
    torch.manual_seed(0)  # the discriminator head is initialised at random: a fresh run starts the same every time
    pre = torch.load(os.path.join(train_dir(a.teacher), "checkpoint.pt"))
    tok, te, unet = build(unet_config=unet_config_of(pre["ema_unet"]))
    te.load_state_dict(pre["ema_te"])
    load_weights(unet, pre["ema_unet"])
    te.requires_grad_(False)  # the text encoder stays as pre-trained
    disc = Discriminator(copy.deepcopy(unet))
    if a.generator:
        load_weights(unet, torch.load(os.path.join(train_dir(a.generator), "checkpoint.pt"))["ema_unet"])
    g_opt = torch.optim.AdamW(unet.parameters(), lr=a.lr, betas=(0.0, 0.99))
    d_opt = torch.optim.AdamW(disc.parameters(), lr=a.lr, betas=(0.0, 0.99))
    ema = copy.deepcopy(unet).requires_grad_(False)
    step, elapsed = 0, 0.0
    ckpt = os.path.join(out, "checkpoint.pt")
    if os.path.exists(ckpt):
        s = torch.load(ckpt)
        unet.load_state_dict(s["unet"]); disc.load_state_dict(s["disc"]); ema.load_state_dict(s["ema_unet"])
        g_opt.load_state_dict(s["g_opt"]); d_opt.load_state_dict(s["d_opt"])
        step, elapsed = s["step"], s["elapsed"]
        print(f"resumed at step {step}")
    log = open(os.path.join(out, "log.jsonl"), "a")

    def encode(texts):
        return te(token_ids(tok, texts))[0]

    swap = TailSwap(tok, encode, a.tail_swap)

    while step < a.steps:
        t0 = time.time()
        torch.manual_seed(1000 + step)  # timesteps, noise and dropout depend on the step alone: resuming is exact
        x0, prompts = data.batch(step, a.batch, seed=3)
        batch_pairs = None
        with torch.no_grad():
            ctx = encode(prompts)
            if pairs is not None:
                idx = torch.randint(0, len(pairs["prompts"]), (a.pair_batch,), generator=torch.Generator().manual_seed(5_000_011 + step))
                pair_prompts = [pairs["prompts"][i] for i in idx.tolist()]
                batch_pairs = (pairs["noise"][idx], pairs["target"][idx], encode(pair_prompts))
            gen_context = None
            if a.tail_swap:
                all_prompts = list(prompts) + (pair_prompts if pairs is not None else [])
                own = ctx if pairs is None else torch.cat([ctx, batch_pairs[2]])
                gen_context, _ = swap(all_prompts, own, seed=7_000_003 + step)
        for opt in (g_opt, d_opt):
            for group in opt.param_groups:
                group["lr"] = learning_rate(a.lr, a.lr_decay, step, a.steps)
        d_loss, adv, rec, distill = gan_step(unet, disc, g_opt, d_opt, x0, ctx, alphas, a.p_final, a.rec, fg_weight=a.fg_weight,
                                             pairs=batch_pairs, distill_weight=a.distill, gen_context=gen_context)
        ema_update([(unet, ema)], a.ema, step)
        step += 1
        elapsed += time.time() - t0
        if step % 25 == 0:
            print(f"step {step} d {d_loss.item():.3f} adv {adv.item():.3f} rec {rec.item():.4f} distill {distill.item():.4f} "
                  f"{elapsed / 60:.1f} min", flush=True)
        if step % a.save_every == 0 or step == a.steps:
            log.write(json.dumps({"step": step, "d_loss": d_loss.item(), "adv": adv.item(), "rec": rec.item(), "distill": distill.item(), "minutes": elapsed / 60,
                                  "lr": g_opt.param_groups[0]["lr"], "images_seen": step * a.batch,
                                  "pairs_seen": step * a.pair_batch if pairs is not None else 0}) + "\n")
            log.flush()
            # Export reads ema_te/ema_unet, as for stage 2.
            state = {"unet": unet.state_dict(), "disc": disc.state_dict(), "ema_unet": ema.state_dict(), "ema_te": te.state_dict(),
                     "te": te.state_dict(), "g_opt": g_opt.state_dict(), "d_opt": d_opt.state_dict(), "step": step, "elapsed": elapsed}
            torch.save(state, ckpt + ".tmp")
            os.replace(ckpt + ".tmp", ckpt)


if __name__ == "__main__":
    main()
