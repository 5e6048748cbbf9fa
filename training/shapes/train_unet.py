"""Stage 2 of the default model: diffusion pre-training of the MobileDiffusion UNet (and of the text encoder, unless
--text-encoder gives a frozen stage-2a one) on the
VAE's 16x16x8 latents (cached by shapes.latents) (v-prediction, cosine schedule, 10 % prompt dropout for guidance, EMA weights, decaying
learning rate). Resumable: $MDD_TRAIN_DIR/unet/checkpoint.pt; rerun to continue.

  python -m shapes.train_unet --steps 20000          (from training/; needs $MDD_TRAIN_DIR/latents-2.pt)
"""
import argparse
import contextlib
import copy
import json
import math
import os
import time

import torch
import torch.nn.functional as F
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

from mdiff import MDUNet2DConditionModel

from .grammar import without_object_colour
from .latents import LatentCache, train_root
from .model_configs import (HIRES_TEXT_BLOCKS, TEXT_CONFIG, TOKEN_LENGTH, UNET_CONFIG, UNET_CONFIG_HIRES_TEXT, alphas_cumprod,
                            tokenizer_vocab, unet_config_of)


@torch.no_grad()
def ema_update(pairs, max_decay, step):
    """EMA of each (model, ema_model) pair with warm-up, decay = min(max_decay, (1 + step) / (10 + step)): a plain
    0.999 decay would still hold 0.999^2000 = 13 % of the random initialisation after 2,000 steps (a step-400
    export rendered noise)."""
    decay = min(max_decay, (1 + step) / (10 + step))
    for model, ema in pairs:
        q = list(ema.parameters())
        torch._foreach_lerp_(q, list(model.parameters()), 1 - decay)  # q ← q·decay + p·(1 − decay)


def foreground_weights(z, strength):
    """Per-latent-pixel loss weights [B, 1, 16, 16] for latents z [B, 8, 16, 16], mean 1 over the batch:
    1 + strength·min(‖z_ij − median_ij(z)‖, 1). The background is most of every image (a medium object covers ~2x2 of
    the 16x16 latents), so a plain MSE is nearly satisfied by the right background: at t = 999 the first teachers
    predicted the empty background whatever the prompt said. Latent pixels far (> 1) from the image's median
    latent are the objects' (17 % of pixels over the training scenes)."""
    med = z.flatten(2).median(dim=2).values[:, :, None, None]
    w = 1 + strength * (z - med).norm(dim=1, keepdim=True).clamp(max=1.0)
    return w / w.mean()


def latent_mse(pred, target, z, fg_weight):
    """MSE of pred against target ([B, 8, 16, 16]), each latent pixel weighted by foreground_weights(z, fg_weight)
    (plain MSE when fg_weight is 0)."""
    if not fg_weight:
        return F.mse_loss(pred.float(), target)
    return (foreground_weights(z, fg_weight) * (pred.float() - target) ** 2).mean()


def v_loss(unet, context, z, alphas, amp=contextlib.nullcontext, fg_weight=0.0, high_t=0.0):
    """Stage 2's objective on latents z [B, 8, 16, 16]: draws t ~ U{0, …, 999} (with probability high_t moved to
    700 + (t mod 300), in [700, 999] where the text has to decide the layout; 700–799 a third more often than the rest), then the noise (this order, so a resumed run draws
    the same), and returns ‖unet(z_t, t, context) − v‖² with v = √ᾱ_t·ε − √(1 − ᾱ_t)·z, weighted per latent pixel
    by foreground_weights(z, fg_weight). `amp`: the context the UNet runs in (bf16 autocast on the GPU)."""
    t = torch.randint(0, 1000, (z.shape[0],), device=z.device)
    if high_t:
        t = torch.where(torch.rand(z.shape[0], device=z.device) < high_t, 700 + t % 300, t)
    noise = torch.randn_like(z)
    ab = alphas[t].view(-1, 1, 1, 1)
    zt = ab.sqrt() * z + (1 - ab).sqrt() * noise
    v = ab.sqrt() * noise - (1 - ab).sqrt() * z
    with amp():
        pred = unet(zt, t.float(), context)
    return latent_mse(pred, v, z, fg_weight)


def load_weights(module, state, new_blocks=()):
    """load_state_dict that also takes weights saved before the UNet had `pos_proj` (md_position_bands) or the
    blocks named by the prefixes new_blocks (zero_new_attention's): those stay as they are (zero output, so the
    function is unchanged); anything else missing or unexpected is an error."""
    missing, unexpected = module.load_state_dict(state, strict=False)
    missing = [k for k in missing if ".pos_proj." not in k and not k.startswith(tuple(new_blocks))]
    if missing or unexpected:
        raise KeyError(f"weights do not fit the model: missing {missing[:5]}, unexpected {unexpected[:5]}")


def train_dir(name):
    d = os.path.join(train_root(), name)
    os.makedirs(d, exist_ok=True)
    return d


def token_ids(tok, texts):
    """Token ids [N, TOKEN_LENGTH] of texts, padded with end-of-text and cut at the text encoder's length."""
    return tok(texts, padding="max_length", max_length=TOKEN_LENGTH, truncation=True, return_tensors="pt").input_ids


def zero_new_attention(unet):
    """Zeroes proj_out of the 16x16 transformers (HIRES_TEXT_BLOCKS): each adds nothing to its residual stream, so
    a UNet grown from a checkpoint without them starts as exactly that checkpoint's function."""
    for name, mod in unet.named_modules():
        if name.startswith(HIRES_TEXT_BLOCKS) and name.endswith("proj_out"):
            torch.nn.init.zeros_(mod.weight); torch.nn.init.zeros_(mod.bias)


def build(tokenizer_folder=None, unet_config=UNET_CONFIG):
    """(tokenizer, text encoder, UNet), freshly initialised. The tokenizer is built from CLIP's BPE table (needs
    open_clip) or, with tokenizer_folder, loaded from an exported model's tokenizer/ (the same vocabulary)."""
    if tokenizer_folder:
        tok = CLIPTokenizer.from_pretrained(tokenizer_folder)
        vocab = tok.get_vocab()
    else:
        vocab, merges = tokenizer_vocab()
        tok = CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=TOKEN_LENGTH)
    te = CLIPTextModel(CLIPTextConfig(vocab_size=len(vocab), bos_token_id=len(vocab) - 2, eos_token_id=len(vocab) - 1,
                                      pad_token_id=len(vocab) - 1, **TEXT_CONFIG))
    unet = MDUNet2DConditionModel(**unet_config)
    return tok, te, unet


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--data-seed", type=int, default=2, help="which latent cache (shapes.latents --seed)")
    ap.add_argument("--ema", type=float, default=0.999)
    ap.add_argument("--save-every", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--name", default="unet", help="run folder under $MDD_TRAIN_DIR")
    ap.add_argument("--init", help="start a new run from this checkpoint's EMA weights (e.g. gpu-unet/checkpoint.pt)")
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--fg-weight", type=float, default=0.0, help="extra loss weight of object pixels (foreground_weights)")
    ap.add_argument("--high-t", type=float, default=0.0, help="share of samples with t in [700, 999]")
    ap.add_argument("--text-encoder", help="a shapes.train_text run folder: use its text encoder, frozen (only the UNet trains)")
    ap.add_argument("--drop-colour", type=float, default=0.0,
                    help="probability of training on a one-object prompt without its colour word (grammar.without_object_colour)")
    ap.add_argument("--hires-text", action="store_true",
                    help="UNET_CONFIG_HIRES_TEXT: cross-attention at 16x16 too (from --init: new blocks start at zero)")
    ap.add_argument("--small-boost", type=float, default=1.0, help="sampling weight of small-object scenes against 1 for the rest")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    out = train_dir(a.name)
    data = LatentCache(a.data_seed)
    weights = data.small_object_weights(a.small_boost) if a.small_boost != 1 else None
    alphas = alphas_cumprod()
    torch.manual_seed(0)
    ckpt = os.path.join(out, "checkpoint.pt")
    resume = torch.load(ckpt) if os.path.exists(ckpt) else None  # read once: it also says which UNet config the run has
    hires = a.hires_text or (resume is not None and unet_config_of(resume["unet"]) is UNET_CONFIG_HIRES_TEXT)
    tok, te, unet = build(unet_config=UNET_CONFIG_HIRES_TEXT if hires else UNET_CONFIG)
    if hires:
        zero_new_attention(unet)
    if a.text_encoder:
        te.load_state_dict(torch.load(os.path.join(train_dir(a.text_encoder), "checkpoint.pt"))["te"])
        te.requires_grad_(False)
    params = list(unet.parameters()) + ([] if a.text_encoder else list(te.parameters()))
    opt = torch.optim.AdamW(params, lr=a.lr, weight_decay=0.01)
    ema = copy.deepcopy((te, unet))
    step, elapsed = 0, 0.0
    if resume is not None:
        s = resume
        te.load_state_dict(s["te"]); unet.load_state_dict(s["unet"]); opt.load_state_dict(s["opt"])
        ema[0].load_state_dict(s["ema_te"]); ema[1].load_state_dict(s["ema_unet"])
        step, elapsed = s["step"], s["elapsed"]
        print(f"resumed at step {step}")
    elif a.init:
        s = torch.load(a.init)
        for m, e, key in ((te, ema[0], "ema_te"), (unet, ema[1], "ema_unet")):
            if not (a.text_encoder and m is te):  # a --text-encoder replaces the initial one
                new = HIRES_TEXT_BLOCKS if hires and m is unet else ()
                load_weights(m, s[key], new); load_weights(e, s[key], new)
        print(f"initialised from {a.init}")
    print(f"UNet {sum(p.numel() for p in unet.parameters()) / 1e6:.1f} M, text encoder {sum(p.numel() for p in te.parameters()) / 1e6:.1f} M", flush=True)
    log = open(os.path.join(out, "log.jsonl"), "a")
    while step < a.steps:
        t0 = time.time()
        torch.manual_seed(1000 + step)  # timesteps, noise and dropout depend on the step alone: resuming is exact
        warm = min(1.0, (step + 1) / a.warmup)
        lr = a.lr * warm * 0.5 * (1 + math.cos(math.pi * step / a.steps))
        for g in opt.param_groups:
            g["lr"] = lr
        z, prompts = data.batch(step, a.batch, weights=weights)
        if a.drop_colour:
            prompts = [without_object_colour(p) if torch.rand(()) < a.drop_colour else p for p in prompts]
        prompts = ["" if torch.rand(()) < 0.1 else p for p in prompts]  # unconditional for guidance
        ids = token_ids(tok, prompts)
        with torch.no_grad() if a.text_encoder else contextlib.nullcontext():
            context = te(ids)[0]
        loss = v_loss(unet, context, z, alphas, fg_weight=a.fg_weight, high_t=a.high_t)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        ema_update(zip((te, unet), ema), a.ema, step)
        step += 1
        elapsed += time.time() - t0
        if step % 25 == 0:
            print(f"step {step} loss {loss.item():.4f} lr {lr:.2e} {elapsed / 60:.1f} min, {step * a.batch / max(elapsed, 1e-9):.1f} img/s", flush=True)
        if step % a.save_every == 0 or step == a.steps:
            log.write(json.dumps({"step": step, "loss": loss.item(), "minutes": elapsed / 60, "images_seen": step * a.batch}) + "\n")
            log.flush()
            state = {"te": te.state_dict(), "unet": unet.state_dict(), "opt": opt.state_dict(), "ema_te": ema[0].state_dict(),
                     "ema_unet": ema[1].state_dict(), "step": step, "elapsed": elapsed}
            torch.save(state, ckpt + ".tmp")
            os.replace(ckpt + ".tmp", ckpt)


if __name__ == "__main__":
    main()
