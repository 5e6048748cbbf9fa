"""Where does the generator read an object's colour and shape from? One-step samples for held-out-pair square
prompts ("a small yellow square …") with three text contexts, scored by ShapesEval:
  own        the prompt's own context;
  seen       the context of the same prompt with the colour replaced by one that is seen on squares and has as
             many tokens (orange, yellow → purple: all three are two BPE tokens here);
  tail-seen  the prompt's own states up to and including the colour word, the seen prompt's states after it (the
             shape noun, the rest, the end-of-text padding: with CLIP's causal mask these are the states that saw
             the colour).
If tail-seen draws the seen colour, the UNet reads colour and shape together from the tokens after the colour word,
and a held-out pair is an unseen state there (not an unseen combination of two seen states).

  python -m shapes.context_swap --checkpoint shipped --vae final-decoder3 --count 150     (from training/)
  python -m shapes.context_swap --checkpoint unet-x --steps 25 --guidance 1.5            (a multi-step teacher)
"""
import argparse
import collections
import os
import random

import torch
from diffusers import AutoencoderKL

from .evaluate import analyse
from .grammar import sample_scene
from .latents import train_root
from .model_configs import alphas_cumprod, unet_config_of
from .teacher_pairs import ddim_plain
from .train_unet import build, load_weights, token_ids

SEEN_TWIN = {"yellow": "purple", "orange": "purple"}


def square_prompts(tok, count, seed=5):
    """[(scene, seen-colour prompt, index of the colour word's last token)] for held-out squares."""
    rng, out = random.Random(seed), []
    while len(out) < count:
        scene = sample_scene(rng, split="heldout", kind="single")
        o = scene.objects[0]
        if o.shape != "square" or scene.background == SEEN_TWIN[o.color]:
            continue
        twin = " ".join(SEEN_TWIN[o.color] if w == o.color else w for w in scene.prompt.split())
        diff = (token_ids(tok, [scene.prompt]) != token_ids(tok, [twin])).nonzero()[:, 1]
        if len(diff) and int(diff.max()) - int(diff.min()) <= 1:  # only the colour word's tokens differ
            out.append((scene, twin, int(diff.max())))
    return out


@torch.no_grad()
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default="shipped", help="run folder under $MDD_TRAIN_DIR (its EMA weights)")
    ap.add_argument("--vae", default="final-decoder3")
    ap.add_argument("--count", type=int, default=150)
    ap.add_argument("--steps", type=int, default=1, help="DDIM steps (25 with --guidance 1.5 for a multi-step teacher)")
    ap.add_argument("--guidance", type=float, default=0.0)
    a = ap.parse_args()
    torch.set_num_threads(2)
    s = torch.load(os.path.join(train_root(), a.checkpoint, "checkpoint.pt"))
    tok, te, unet = build(unet_config=unet_config_of(s["ema_unet"]))
    te.load_state_dict(s["ema_te"]); load_weights(unet, s["ema_unet"])
    te.eval(); unet.eval()
    vae = AutoencoderKL.from_pretrained(os.path.join(train_root(), "vae", a.vae)).eval()
    items, alphas = square_prompts(tok, a.count), alphas_cumprod()
    uncond = te(token_ids(tok, [""]))[0]
    tally = collections.defaultdict(collections.Counter)
    for i in range(0, len(items), 25):
        chunk = items[i:i + 25]
        own = te(token_ids(tok, [scene.prompt for scene, _, _ in chunk]))[0]
        seen = te(token_ids(tok, [twin for _, twin, _ in chunk]))[0]
        tail = own.clone()
        for j, (_, _, last) in enumerate(chunk):
            tail[j, last + 1:] = seen[j, last + 1:]
        noise = torch.randn((len(chunk), 8, 16, 16), generator=torch.Generator().manual_seed(100 + i))
        for name, context in (("own", own), ("seen", seen), ("tail-seen", tail)):
            x0 = ddim_plain(unet, context, uncond, noise, a.steps, a.guidance, alphas)
            rgb = vae.decode(x0 / vae.config.scaling_factor).sample.clamp(-1, 1)
            images = ((rgb + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()
            for (scene, _, _), img in zip(chunk, images):
                objects = analyse(img)
                top = max(objects, key=lambda o: o["area"]) if objects else None
                tally[(name, scene.objects[0].size)]["nothing" if top is None else f"{top['color']} {top['shape']}"] += 1
    for name in ("own", "seen", "tail-seen"):
        for size in ("small", "medium", "large"):
            c = tally[(name, size)]
            print(f"{name:9s} {size:6s} " + ", ".join(f"{k} {v}" for k, v in c.most_common()))


if __name__ == "__main__":
    main()
