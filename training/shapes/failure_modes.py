"""What a model draws instead, on single-object prompts: per colour–shape pair and size, how often ShapesEval reads
the largest object right, and what it reads when wrong (shape, colour, both, nothing).

Two sources, the same seeded scenes:
  python -m shapes.failure_modes --model ../models/shapes-md --out /tmp/fm        (rendered by `mdd render`)
  python -m shapes.failure_modes --vae final-decoder3                             (ground truth through the VAE:
                                                                                   the decoder's ceiling per pair)
Options: --split heldout|train, --count N scenes, --steps/--guidance for the engine. Prints a table; --json writes it.
"""
import argparse
import collections
import json
import os
import random

import numpy as np
from PIL import Image

from .evaluate import analyse
from .evaluate_model import engine_arguments
from .grammar import sample_scene

SIZE_ORDER = ["small", "medium", "large"]


def scenes(split, count, seed=20261128):
    rng = random.Random(seed)
    return [sample_scene(rng, split=split, kind="single") for _ in range(count)]


def verdict(scene, objects):
    """"right", or what the largest object was read as instead."""
    want = scene.objects[0]
    if not objects:
        return "nothing"
    top = max(objects, key=lambda o: o["area"])
    if (top["color"], top["shape"]) == (want.color, want.shape):
        return "right"
    if top["color"] == want.color:
        return f"shape->{top['shape']}"
    if top["shape"] == want.shape:
        return f"colour->{top['color']}"
    return f"both->{top['color']} {top['shape']}"


def engine_images(mdd, model, items, out, steps, guidance):
    from .evaluate_model import render
    render(mdd, model, [("", s, 50_000 + i) for i, s in enumerate(items)], out, steps, guidance)
    return [np.array(Image.open(os.path.join(out, "images", f"{i:06d}.png")).convert("RGB")) for i in range(len(items))]


def vae_images(which, items):
    import torch
    from diffusers import AutoencoderKL

    from .latents import train_root
    from .render import render
    vae = AutoencoderKL.from_pretrained(os.path.join(train_root(), "vae", which)).eval()
    x = torch.from_numpy(np.stack([render(s) for s in items])).permute(0, 3, 1, 2).float() / 127.5 - 1
    with torch.no_grad():
        y = torch.cat([vae.decode(vae.encode(x[i:i + 50]).latent_dist.mean).sample for i in range(0, len(x), 50)])
    return list(((y.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy())


def table(items, images):
    cells = collections.defaultdict(collections.Counter)
    for scene, img in zip(items, images):
        o = scene.objects[0]
        cells[(f"{o.color} {o.shape}", o.size)][verdict(scene, analyse(img))] += 1
    return cells


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="diffusers folder rendered by the Swift engine")
    src.add_argument("--vae", help="a VAE under $MDD_TRAIN_DIR/vae: ground-truth scenes encoded and decoded")
    engine_arguments(ap, out="/tmp/failure-modes", out_help="where the engine's images go (--model)")
    ap.add_argument("--split", choices=["heldout", "train"], default="heldout")
    ap.add_argument("--count", type=int, default=600)
    ap.add_argument("--json", help="write the table here")
    a = ap.parse_args()
    items = scenes(a.split, a.count)
    images = engine_images(a.mdd, a.model, items, a.out, a.steps, a.guidance) if a.model else vae_images(a.vae, items)
    cells = table(items, images)
    right = sum(c["right"] for c in cells.values())
    print(f"{a.model or 'vae/' + a.vae}: {a.split} single prompts, {right}/{len(items)} right ({right / len(items):.1%})")
    for key in sorted(cells, key=lambda k: (k[0], SIZE_ORDER.index(k[1]))):
        c = cells[key]
        wrong = ", ".join(f"{m} {n}" for m, n in c.most_common() if m != "right")
        print(f"  {key[0]:16s} {key[1]:7s} {c['right']:4d}/{sum(c.values()):4d}  {wrong}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({f"{k[0]}/{k[1]}": dict(v) for k, v in cells.items()}, f, indent=1)


if __name__ == "__main__":
    main()
