"""Teacher pairs for stage 3's distillation term: (noise x_T, prompt, the teacher's multi-step sample from x_T).

The one-step generator is trained by stage 3 (train_gan) on real latents with a reconstruction loss at t = 999,
where x_t carries almost nothing of x0: its MSE optimum is the mean of every image the prompt allows, which is
why one-step samples came out with rounded corners and merged objects. The teacher's deterministic DDIM sampler
(eta 0) maps each x_T to one image, so ‖G(x_T) − teacher(x_T)‖² has a sharp optimum (as in Luhman & Luhman 2021
and the distillation term of ADD/SDXS). This module samples those pairs once, with the sampler the engine uses
for the teacher (DDIM, trailing spacing, classifier-free guidance), for prompts of the latent cache (training
prompts only; held-out colour–shape pairs never occur).

Writes $MDD_TRAIN_DIR/pairs-<name>.pt {"noise": [N, 8, 16, 16] F32, "target": [N, 8, 16, 16] F32, "prompts": [N],
"teacher", "steps", "guidance"}; atomically every --save-every batches, and a rerun continues where it stopped.

  python -m shapes.teacher_pairs --teacher unet-pos4 --count 6000          (from training/)
"""
import argparse
import contextlib
import os
import time

import torch

from mdiff.pipeline import denoise

from .grammar import prompt_kind
from .latents import LatentCache, train_root
from .model_configs import SCHEDULER_CONFIG, unet_config_of
from .train_unet import build, load_weights, token_ids, train_dir


def pairs_path(name):
    return os.path.join(train_root(), f"pairs-{name}.pt")


@torch.no_grad()
def ddim_sample(unet, context, uncond, noise, steps, guidance):
    """The teacher's DDIM sample (eta 0) from noise [B, 8, 16, 16] with text context [B, L, D] and the empty
    prompt's context uncond [1, L, D]: mdiff.pipeline's loop (the engine's scheduler calls), batched."""
    from diffusers import DDIMScheduler

    sched = DDIMScheduler(**SCHEDULER_CONFIG)
    both = torch.cat([uncond.expand_as(context), context]) if guidance > 1 else context
    return denoise(unet, sched, noise * sched.init_noise_sigma, both, steps, guidance)


@torch.no_grad()
def ddim_plain(unet, context, uncond, noise, steps, guidance, alphas, amp=contextlib.nullcontext):
    """ddim_sample without diffusers (the GPU machine has none): DDIM, eta 0, trailing spacing, v-prediction,
    ᾱ = 1 after the last step (SCHEDULER_CONFIG's set_alpha_to_one), init_noise_sigma 1. noise [B, 8, 16, 16],
    context [B, L, D], uncond [1, L, D], alphas [1000] (model_configs.alphas_cumprod) on the same device; `amp`:
    the context the UNet runs in. Returns the final latents [B, 8, 16, 16] F32. Checked against ddim_sample on
    the CPU: `python -m shapes.teacher_pairs --teacher unet-pos4 --check` (max difference 0.0)."""
    T = alphas.shape[0]
    cfg = guidance > 1
    both = torch.cat([uncond.expand_as(context), context]) if cfg else context
    x = noise.float()
    ratio = T // steps  # diffusers' DDIM steps from t to t − ⌊T/steps⌋ whatever the spacing
    for k in range(steps):
        t = round(T - k * T / steps) - 1  # "trailing": 999, 959, …, 39 for 25 steps (999, 666, 332 for 3)
        with amp():
            out = unet(torch.cat([x, x]) if cfg else x, torch.full((1,), float(t), device=x.device), both).float()
        if cfg:
            u, c = out.chunk(2)
            out = u + guidance * (c - u)
        a_t = alphas[t]
        a_prev = alphas[t - ratio] if t - ratio >= 0 else torch.ones((), device=x.device)
        x0 = a_t.sqrt() * x - (1 - a_t).sqrt() * out  # v-prediction → x̂0 and ε̂
        eps = a_t.sqrt() * out + (1 - a_t).sqrt() * x
        x = a_prev.sqrt() * x0 + (1 - a_prev).sqrt() * eps
    return x


def check_plain(unet, context, uncond):
    """Prints the max difference of ddim_plain from ddim_sample (diffusers' scheduler) for a few step counts."""
    from .model_configs import alphas_cumprod

    x_T = torch.randn((context.shape[0], 8, 16, 16), generator=torch.Generator().manual_seed(0))
    for steps, guidance in ((25, 3.0), (7, 3.0), (1, 0.0)):
        ref = ddim_sample(unet, context, uncond, x_T, steps, guidance)
        got = ddim_plain(unet, context, uncond, x_T, steps, guidance, alphas_cumprod())
        print(f"{steps} steps, guidance {guidance}: max |plain − diffusers| {(got - ref).abs().max().item():.2e} "
              f"(latents' max |x| {ref.abs().max().item():.2f})")


def load(name):
    return torch.load(pairs_path(name))


def load_many(names):
    """Pairs files `names` ("s14,s14cr") concatenated; they must come from one teacher and one sampler, or the
    distillation target would change from row to row."""
    parts = [load(n) for n in names.split(",")]
    samplers = {(p["teacher"], p["steps"], p["guidance"]) for p in parts}
    if len(samplers) > 1:
        raise SystemExit(f"pairs files {names} come from different teachers or samplers: {sorted(samplers)}")
    out = {k: parts[0][k] for k in ("teacher", "steps", "guidance")}
    out.update(noise=torch.cat([p["noise"] for p in parts]), target=torch.cat([p["target"] for p in parts]),
               prompts=[q for p in parts for q in p["prompts"]])
    return out


def kind_weights(prompts, spec):
    """Sampling weights [N] over `prompts` from spec "single=0,count=2,relation=1" (grammar.prompt_kind; kinds not
    named weigh 1), or None for uniform draws (the stream of every pairs file made before the option)."""
    if not spec:
        return None
    by_kind = {"single": 1.0, "count": 1.0, "relation": 1.0}
    for item in spec.split(","):
        kind, _, value = item.partition("=")
        if kind not in by_kind or not value:
            raise SystemExit(f"--kind-weights: '{item}' is not KIND=WEIGHT with KIND one of single, count, relation")
        by_kind[kind] = float(value)
    w = torch.tensor([by_kind[prompt_kind(p)] for p in prompts])
    if w.sum() <= 0:
        raise SystemExit(f"--kind-weights {spec} gives every prompt weight 0")
    return w


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--teacher", default="unet", help="the stage-2 run folder whose EMA weights sample")
    ap.add_argument("--name", help="pairs file name (default: the teacher's)")
    ap.add_argument("--count", type=int, default=6000)
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--steps", type=int, default=25)
    ap.add_argument("--guidance", type=float, default=1.5, help="the teacher's best measured setting (model card)")
    ap.add_argument("--data-seed", type=int, default=2, help="which latent cache the prompts come from")
    ap.add_argument("--save-every", type=int, default=10)
    ap.add_argument("--kind-weights", help="draw prompts by kind, e.g. single=0,count=2,relation=1 (default: uniform over "
                                           "the cache, where singles, counts and relations come 5 : 2 : 3)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--check", action="store_true",
                    help="compare ddim_plain with ddim_sample on 8 pairs for --steps 25, 7 and 1, and exit")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    path = pairs_path(a.name or a.teacher)
    s = torch.load(os.path.join(train_dir(a.teacher), "checkpoint.pt"))
    tok, te, unet = build(unet_config=unet_config_of(s["ema_unet"]))
    te.load_state_dict(s["ema_te"]); load_weights(unet, s["ema_unet"])
    te.eval(); unet.eval()
    prompts_all = LatentCache(a.data_seed).prompts
    done = torch.load(path) if os.path.exists(path) else {"prompts": []}
    if done["prompts"] and (done.get("teacher"), done.get("steps"), done.get("guidance"), done.get("kind_weights")) != (
            a.teacher, a.steps, a.guidance, a.kind_weights):
        raise SystemExit(f"{path} holds pairs of another teacher, sampler or prompt mix: {done['teacher']}, {done['steps']} "
                         f"steps, guidance {done['guidance']}, kind weights {done.get('kind_weights')}; give --name")
    weights = kind_weights(prompts_all, a.kind_weights)
    noise, target = ([done["noise"]], [done["target"]]) if done["prompts"] else ([], [])
    prompts = list(done["prompts"])

    def encode(texts):
        with torch.no_grad():
            return te(token_ids(tok, texts))[0]

    uncond = encode([""])
    if a.check:
        return check_plain(unet, encode(prompts_all[:8]), uncond)
    t0, batches = time.time(), 0
    while len(prompts) < a.count:
        k = len(prompts)
        g = torch.Generator().manual_seed(7_000_003 + k)  # pair k depends on k alone: resuming draws the same
        n = min(a.batch, a.count - k)
        picks = (torch.randint(0, len(prompts_all), (n,), generator=g) if weights is None
                 else torch.multinomial(weights, n, replacement=True, generator=g))
        texts = [prompts_all[i] for i in picks.tolist()]
        x_T = torch.randn((n, 8, 16, 16), generator=g)
        noise.append(x_T); target.append(ddim_sample(unet, encode(texts), uncond, x_T, a.steps, a.guidance)); prompts += texts
        batches += 1
        if batches % a.save_every == 0 or len(prompts) >= a.count:
            state = {"noise": torch.cat(noise), "target": torch.cat(target), "prompts": prompts, "teacher": a.teacher,
                     "steps": a.steps, "guidance": a.guidance, "kind_weights": a.kind_weights}
            noise, target = [state["noise"]], [state["target"]]
            torch.save(state, path + ".tmp")
            os.replace(path + ".tmp", path)
            print(f"{len(prompts)} / {a.count} pairs, {(len(prompts) - len(done['prompts'])) / (time.time() - t0):.1f} pairs/s", flush=True)


if __name__ == "__main__":
    main()
