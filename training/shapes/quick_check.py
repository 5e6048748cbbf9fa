"""Quick check of a model folder on single-object prompts: the single prompts of one split of
evaluate_model.prompt_set(150) (150 held-out, 150 seen), rendered by the Swift engine, right in colour and shape by
size and by colour–shape pair. About 10 s at one step, 2 min at 25; the model card's "quick set" numbers.

  python -m shapes.quick_check ../models/shapes-md                                   (from training/)
  python -m shapes.quick_check $MDD_TRAIN_DIR/teacher-x --steps 25 --guidance 1.5 --split train
"""
import argparse
import collections
import os

import numpy as np
from PIL import Image

from .evaluate import analyse, score
from .evaluate_model import engine_arguments, prompt_set, render


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="diffusers-format model folder")
    engine_arguments(ap, out="/tmp/quick-check")
    ap.add_argument("--split", choices=["heldout", "train"], default="heldout")
    a = ap.parse_args()
    items = [it for it in prompt_set(150) if it[0] == a.split and it[1].kind == "single"]
    seconds, _ = render(a.mdd, a.model, items, a.out, a.steps, a.guidance)
    by_size, by_pair = collections.defaultdict(lambda: [0, 0]), collections.defaultdict(lambda: [0, 0])
    for i, (_, scene, _) in enumerate(items):
        image = np.array(Image.open(os.path.join(a.out, "images", f"{i:06d}.png")).convert("RGB"))
        right = bool(score(scene, analyse(image))["color_shape"])
        o = scene.objects[0]
        for tally, key in ((by_size, o.size), (by_pair, f"{o.color} {o.shape}")):
            tally[key][0] += right
            tally[key][1] += 1
    total = sum(r for r, _ in by_size.values())
    print(f"{a.model}: {a.split} singles, {a.steps} step(s), guidance {a.guidance}: {total} / {len(items)} right ({seconds:.0f} s)")
    for name, tally in (("size", by_size), ("pair", by_pair)):
        print(f"  by {name}: " + ", ".join(f"{k} {r}/{n}" for k, (r, n) in sorted(tally.items())))


if __name__ == "__main__":
    main()
