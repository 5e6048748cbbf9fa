"""Stages 2 and 3 of the default model in one timed run on one CUDA GPU (the device machine lends ~10 minutes).

Same objectives, models and initialisation as train_unet.py (stage 2: v-prediction diffusion pre-training of the
text encoder + UNet, 10 % prompt dropout, EMA with warm-up) and train_gan.py (stage 3: UFOGen-style DiffusionGAN
from the stage-2 EMA weights), but with fresh scenes instead of the 32,000-scene CPU cache:

  1. data:    --scenes scenes (51,200 took 5.2 s on the H100 box) rendered by worker processes (grammar "train" split: no held-out pairs), tokenized
              there, encoded on the GPU by the stage-1 VAE encoder (shapes.vae_encoder) → a latent pool on the GPU;
  2. stage 2: until --stage2-s seconds have passed, learning rate cosine-decayed over that *time* budget;
  3. teacher pairs (with --pairs N): N (x_T, prompt, 25-step guided DDIM sample of the stage-2 teacher) triples for
              stage 3's distillation term, sampled on the GPU (shapes.teacher_pairs.ddim_plain, equal to the
              diffusers sampler the CPU pairs use);
  4. stage 3: likewise for --stage3-s seconds, with --pair-batch pair rows per step when there are pairs.

Weights come back as F16 safetensors of at most 15 MB each (the device tool returns files of ≤ 16 MiB):
teacher_te.safetensors, teacher_unet.{0,1}.safetensors, student_unet.{0,1}.safetensors, plus log.jsonl.
`python -m shapes.gpu_train --import DIR` turns them into $MDD_TRAIN_DIR/{gpu-unet,gpu-distill}/checkpoint.pt,
which shapes.export reads (--checkpoint gpu-distill).

  python -m shapes.gpu_train --out $OUT --vae .gpu/vae --tokenizer ../models/shapes-md/tokenizer
"""
import argparse
import copy
import json
import math
import multiprocessing as mp
import os
import random
import time

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from .grammar import sample_scene
from .model_configs import TOKEN_LENGTH, alphas_cumprod
from .render import render
from .train_gan import Discriminator, gan_step
from .teacher_pairs import ddim_plain
from .train_unet import build, ema_update, v_loss
from .vae_encoder import VAEEncoder

_TOKENIZER = None


def _render_chunk(job):
    """Worker: (seed, n) → uint8 images [n, 128, 128, 3] and token ids [n, TOKEN_LENGTH] (int32)."""
    global _TOKENIZER
    seed, n, tokenizer_folder = job
    if _TOKENIZER is None:
        from transformers import CLIPTokenizer
        _TOKENIZER = CLIPTokenizer.from_pretrained(tokenizer_folder)
    rng = random.Random(seed)
    imgs, prompts = [], []
    for _ in range(n):
        s = sample_scene(rng, split="train")
        imgs.append(render(s))
        prompts.append(s.prompt)
    ids = _TOKENIZER(prompts, padding="max_length", max_length=TOKEN_LENGTH, truncation=True, return_tensors="np").input_ids
    return np.stack(imgs), ids.astype(np.int32)


def latent_pool(a, dev, log):
    """[N, 8, 16, 16] F16 latents and [N, TOKEN_LENGTH] int64 ids on `dev` for --scenes scenes (rounded down to
    whole chunks of 256). Every job is consumed: stopping a Pool early with terminate() while results were still
    queued hung the first device run for its whole time limit."""
    chunk, t0 = 256, time.time()
    jobs = [(a.seed * 1_000_003 + i, chunk, a.tokenizer) for i in range(a.scenes // chunk)]
    zs, ids = [], []
    with mp.get_context("fork").Pool(a.workers) as pool:  # forked before this process first touches CUDA
        enc = VAEEncoder(a.vae, dev)
        for imgs, tid in pool.imap(_render_chunk, jobs):
            x = torch.from_numpy(imgs).to(dev).permute(0, 3, 1, 2).float() / 127.5 - 1
            zs.append(enc(x).half())
            ids.append(torch.from_numpy(tid).to(dev).long())
    z, ids = torch.cat(zs), torch.cat(ids)
    log(stage="data", scenes=len(z), seconds=time.time() - t0, latent_std=z.float().std().item())
    return z, ids


def amp(dev):
    """bf16 autocast for the networks; losses and the scheduler arithmetic stay in fp32."""
    return torch.autocast(dev.type, dtype=torch.bfloat16)


def cosine_lr(base, elapsed, budget, warm_steps, step):
    return base * min(1.0, (step + 1) / warm_steps) * 0.5 * (1 + math.cos(math.pi * min(1.0, elapsed / budget)))


def stage2(a, z_pool, id_pool, empty_ids, alphas, dev, log):
    """Diffusion pre-training until the time budget is spent; returns the EMA (text encoder, UNet)."""
    torch.manual_seed(0)
    _, te, unet = build(a.tokenizer)
    if a.text_encoder:  # a shapes.train_text checkpoint: frozen, only the UNet trains
        te.load_state_dict(torch.load(a.text_encoder, map_location="cpu")["te"])
        te.requires_grad_(False)
    te, unet = te.to(dev), unet.to(dev)
    params = list(unet.parameters()) + ([] if a.text_encoder else list(te.parameters()))
    opt = torch.optim.AdamW(params, lr=a.lr2, weight_decay=0.01, fused=dev.type == "cuda")
    ema = copy.deepcopy((te, unet))
    step, t0, B = 0, time.time(), a.batch2
    while (elapsed := time.time() - t0) < a.stage2_s:
        for g in opt.param_groups:
            g["lr"] = cosine_lr(a.lr2, elapsed, a.stage2_s, 300, step)
        idx = torch.randint(0, len(z_pool), (B,), device=dev)
        z, ids = z_pool[idx].float(), id_pool[idx]
        ids = torch.where(torch.rand(B, 1, device=dev) < 0.1, empty_ids, ids)  # unconditional for guidance
        with amp(dev):
            context = te(ids)[0]
        loss = v_loss(unet, context, z, alphas, amp=lambda: amp(dev), fg_weight=a.fg_weight, high_t=a.high_t)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        ema_update(zip((te, unet), ema), a.ema2, step)
        step += 1
        if step % 200 == 0:
            log(stage=2, step=step, loss=loss.item(), lr=opt.param_groups[0]["lr"], seconds=time.time() - t0,
                images_seen=step * B)
    log(stage=2, step=step, loss=loss.item(), seconds=time.time() - t0, images_seen=step * B, done=True)
    return ema


@torch.no_grad()
def sample_pairs(a, id_pool, te, teacher, empty_ids, alphas, dev, log, chunk=1024):
    """--pairs triples for stage 3's distillation term (shapes.teacher_pairs on the CPU): noise x_T [N, 8, 16, 16],
    token ids [N, TOKEN_LENGTH] drawn from the latent pool's prompts, and the teacher's --pair-steps DDIM sample
    from x_T with guidance --pair-guidance [N, 8, 16, 16] F32, all on `dev`."""
    t0 = time.time()
    g = torch.Generator(device=dev).manual_seed(a.seed + 3)
    ids = id_pool[torch.randint(0, len(id_pool), (a.pairs,), device=dev, generator=g)]
    noise = torch.randn((a.pairs, 8, 16, 16), device=dev, generator=g)
    with amp(dev):
        uncond = te(empty_ids)[0].float()
    targets = []
    for k in range(0, a.pairs, chunk):
        with amp(dev):
            ctx = te(ids[k:k + chunk])[0].float()
        targets.append(ddim_plain(teacher, ctx, uncond, noise[k:k + chunk], a.pair_steps, a.pair_guidance, alphas,
                                  amp=lambda: amp(dev)))
    target = torch.cat(targets)
    log(stage="pairs", pairs=a.pairs, seconds=time.time() - t0, target_std=target.std().item())
    return noise, ids, target


def stage3(a, z_pool, id_pool, te, teacher, alphas, dev, log, save, pairs=None):
    """DiffusionGAN fine-tuning of a copy of the teacher; returns the generator's EMA. pairs: sample_pairs()'s
    triples, which add --pair-batch distillation rows per step (train_gan.gan_step)."""
    torch.manual_seed(1)
    unet = copy.deepcopy(teacher).requires_grad_(True)
    disc = Discriminator(copy.deepcopy(teacher).requires_grad_(True)).to(dev)
    g_opt = torch.optim.AdamW(unet.parameters(), lr=a.lr3, betas=(0.0, 0.99))
    d_opt = torch.optim.AdamW(disc.parameters(), lr=a.lr3, betas=(0.0, 0.99))
    ema = copy.deepcopy(unet).requires_grad_(False)
    te.requires_grad_(False)
    noise, ids, target = pairs if pairs is not None else (None, None, None)
    step, t0, B, last_save = 0, time.time(), a.batch3, time.time()
    while (elapsed := time.time() - t0) < a.stage3_s:
        idx = torch.randint(0, len(z_pool), (B,), device=dev)
        x0 = z_pool[idx].float()
        batch_pairs = None
        with torch.no_grad(), amp(dev):
            ctx = te(id_pool[idx])[0]
            if pairs is not None:
                p = torch.randint(0, len(ids), (a.pair_batch,), device=dev)
                batch_pairs = (noise[p], target[p], te(ids[p])[0])
        d_loss, adv, rec, distill = gan_step(unet, disc, g_opt, d_opt, x0, ctx, alphas, a.p_final, a.rec,
                                             amp=lambda: amp(dev), fg_weight=a.fg_weight, pairs=batch_pairs,
                                             distill_weight=a.distill)
        ema_update([(unet, ema)], a.ema3, step)
        step += 1
        if step % 100 == 0:
            log(stage=3, step=step, d_loss=d_loss.item(), adv=adv.item(), rec=rec.item(), distill=distill.item(),
                seconds=time.time() - t0, images_seen=step * B)
        if time.time() - last_save > 60:  # what a killed run leaves behind is at most a minute old
            save(ema.state_dict(), "student_unet")
            last_save = time.time()
    log(stage=3, step=step, d_loss=d_loss.item(), adv=adv.item(), rec=rec.item(), distill=distill.item(),
        seconds=time.time() - t0, done=True)
    return ema


def save_split(state, out, name, max_bytes=15_000_000):
    """F16 tensors of `state` in name.safetensors, or name.0/.1/… when larger than max_bytes; written atomically."""
    parts, cur, size = [], {}, 0
    for k, v in state.items():
        v = v.detach().to("cpu", torch.float16).contiguous()
        if cur and size + v.numel() * 2 > max_bytes:
            parts.append(cur)
            cur, size = {}, 0
        cur[k], size = v, size + v.numel() * 2
    parts.append(cur)
    for i, p in enumerate(parts):
        path = os.path.join(out, f"{name}.safetensors" if len(parts) == 1 else f"{name}.{i}.safetensors")
        save_file(p, path + ".tmp")
        os.replace(path + ".tmp", path)


def load_split(folder, name):
    state = {}
    for f in sorted(os.listdir(folder)):
        if f.startswith(name + ".") and f.endswith(".safetensors"):
            state.update(load_file(os.path.join(folder, f)))
    if not state:
        raise FileNotFoundError(f"{folder}: no {name}*.safetensors")
    return {k: v.float() for k, v in state.items()}


def import_results(folder):
    """Writes $MDD_TRAIN_DIR/gpu-unet/checkpoint.pt and gpu-distill/checkpoint.pt (the keys shapes.export reads)."""
    from .train_unet import train_dir

    te = load_split(folder, "teacher_te")
    for stage, unet in (("gpu-unet", "teacher_unet"), ("gpu-distill", "student_unet")):
        w = load_split(folder, unet)
        path = os.path.join(train_dir(stage), "checkpoint.pt")
        torch.save({"ema_te": te, "te": te, "ema_unet": w, "unet": w, "source": os.path.abspath(folder)}, path + ".tmp")
        os.replace(path + ".tmp", path)
        print(f"wrote {path}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out")
    ap.add_argument("--vae", default=".gpu/vae", help="the stage-1 VAE folder (its encoder makes the latents)")
    ap.add_argument("--tokenizer", default="../models/shapes-md/tokenizer")
    ap.add_argument("--scenes", type=int, default=300_000)
    ap.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    ap.add_argument("--stage2-s", type=float, default=300)
    ap.add_argument("--batch2", type=int, default=256)
    ap.add_argument("--lr2", type=float, default=5e-4)
    ap.add_argument("--ema2", type=float, default=0.9995)
    ap.add_argument("--stage3-s", type=float, default=150)
    ap.add_argument("--batch3", type=int, default=128)
    ap.add_argument("--lr3", type=float, default=1e-4)
    ap.add_argument("--ema3", type=float, default=0.999)
    ap.add_argument("--rec", type=float, default=1.0)
    ap.add_argument("--p-final", type=float, default=0.5)
    ap.add_argument("--pairs", type=int, default=0, help="teacher pairs for stage 3's distillation term (0: none)")
    ap.add_argument("--pair-batch", type=int, default=64, help="pair rows per stage-3 step (with --pairs)")
    ap.add_argument("--pair-steps", type=int, default=25)
    ap.add_argument("--pair-guidance", type=float, default=1.5, help="the teacher's best measured guidance (model card)")
    ap.add_argument("--distill", type=float, default=1.0, help="weight of the distillation term (with --pairs)")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--text-encoder", help="a shapes.train_text checkpoint.pt (frozen) instead of training one jointly")
    ap.add_argument("--fg-weight", type=float, default=0.0, help="extra loss weight of object pixels (train_unet.foreground_weights)")
    ap.add_argument("--high-t", type=float, default=0.0, help="stage 2: share of samples with t in [700, 999]")
    ap.add_argument("--import", dest="import_dir", help="turn a finished run's files into checkpoints and exit")
    a = ap.parse_args()
    if a.import_dir:
        return import_results(a.import_dir)
    os.makedirs(a.out, exist_ok=True)
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    logf = open(os.path.join(a.out, "log.jsonl"), "a")

    def log(**kv):
        kv["time"] = round(time.time() - start, 1)
        print(json.dumps(kv), flush=True)
        logf.write(json.dumps(kv) + "\n")
        logf.flush()

    start = time.time()
    log(stage="start", args=vars(a), torch=torch.__version__, cuda=dev.type == "cuda")
    z_pool, id_pool = latent_pool(a, dev, log)
    alphas = alphas_cumprod().to(dev)
    from transformers import CLIPTokenizer
    empty = CLIPTokenizer.from_pretrained(a.tokenizer)([""], padding="max_length", max_length=TOKEN_LENGTH, return_tensors="pt")
    empty_ids = empty.input_ids.to(dev)
    te, teacher = stage2(a, z_pool, id_pool, empty_ids, alphas, dev, log)
    save_split(te.state_dict(), a.out, "teacher_te")
    save_split(teacher.state_dict(), a.out, "teacher_unet")
    pairs = sample_pairs(a, id_pool, te, teacher, empty_ids, alphas, dev, log) if a.pairs else None
    student = stage3(a, z_pool, id_pool, te, teacher, alphas, dev, log, lambda s, n: save_split(s, a.out, n), pairs)
    save_split(student.state_dict(), a.out, "student_unet")
    log(stage="end")


if __name__ == "__main__":
    main()
