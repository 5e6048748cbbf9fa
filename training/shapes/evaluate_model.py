"""ShapesEval over a model rendered by the Swift engine: a fixed prompt set → `mdd render --prompts` → analyser.

The prompt set (seeded, so every model sees the same prompts and seeds): for each split (held-out colour–shape
pairs, seen pairs) and each kind (single, count, relation), --per prompts. The engine renders them with the
given steps and guidance; each PNG is analysed alone (shapes.evaluate) and scored against its scene. Writes
<out>/prompts.jsonl, <out>/images/, <out>/results.json (the table) and <out>/contact-sheet.png.

  python -m shapes.evaluate_model --model ../models/shapes-md --out /tmp/eval-1step            (from training/)
  python -m shapes.evaluate_model --model /tmp/teacher --steps 25 --guidance 3 --out /tmp/eval-teacher
"""
import argparse
import json
import os
import random
import subprocess
import textwrap
import time

import numpy as np
from PIL import Image, ImageDraw

from .evaluate import analyse, score, summarize
from .grammar import sample_scene

KINDS = ["single", "count", "relation"]
SPLITS = ["heldout", "train"]


def prompt_set(per, seed=20261126):
    """[(split, scene, seed)], `per` scenes for each split × kind, identical for every model evaluated."""
    rng = random.Random(seed)
    out = []
    for split in SPLITS:
        for kind in KINDS:
            for i in range(per):
                out.append((split, sample_scene(rng, split=split, kind=kind), 10_000 + len(out)))
    return out


def render(mdd, model, items, out, steps, guidance, precision="fp32"):
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "prompts.jsonl")
    with open(path, "w") as f:
        for split, scene, seed in items:
            f.write(json.dumps({"prompt": scene.prompt, "seed": seed}) + "\n")
    t0 = time.time()
    cmd = [mdd, "render", "--model", model, "--prompts", path, "--out-dir", os.path.join(out, "images"),
           "--steps", str(steps), "--guidance", str(guidance), "--precision", precision, "--json"]
    # One BLAS thread: 128x128 products are small, and spinning BLAS threads crawl when training shares the cores.
    env = {**os.environ, "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1")}
    res = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    timings = [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]
    return time.time() - t0, timings


def contact_sheet(items, out, cols=8, rows=8):
    """The first images of each split × kind with their prompts underneath, for people to look at."""
    per_group = max(1, cols * rows // (len(SPLITS) * len(KINDS)))
    picks, seen = [], {}
    for i, (split, scene, _) in enumerate(items):
        if seen.get((split, scene.kind), 0) < per_group:
            seen[(split, scene.kind)] = seen.get((split, scene.kind), 0) + 1
            picks.append((i, scene.prompt))
    cell_w, cell_h = 160, 200
    sheet = Image.new("RGB", (cols * cell_w, ((len(picks) + cols - 1) // cols) * cell_h), "white")
    draw = ImageDraw.Draw(sheet)
    for n, (i, text) in enumerate(picks):
        x, y = (n % cols) * cell_w, (n // cols) * cell_h
        sheet.paste(Image.open(os.path.join(out, "images", f"{i:06d}.png")).convert("RGB"), (x + 16, y + 4))
        for k, line in enumerate(textwrap.wrap(text, 26)[:4]):
            draw.text((x + 4, y + 136 + 14 * k), line, fill="black")
    sheet.save(os.path.join(out, "contact-sheet.png"))


def evaluate(mdd, model, out, per, steps, guidance, precision="fp32", splits=SPLITS):
    """splits: a subset of SPLITS renders only their prompts, with the prompts and seeds they have in the full set
    (a slow multi-step teacher on the held-out half gives the same numbers as in a full run)."""
    items = [item for item in prompt_set(per) if item[0] in splits]
    seconds, timings = render(mdd, model, items, out, steps, guidance, precision)
    table = {}
    for split in splits:
        results = []
        for i, (s, scene, _) in enumerate(items):
            if s == split:
                img = np.array(Image.open(os.path.join(out, "images", f"{i:06d}.png")).convert("RGB"))
                results.append((scene, score(scene, analyse(img))))
        table[split] = summarize(results)
    report = {"model": os.path.abspath(model), "steps": steps, "guidance": guidance, "precision": precision, "prompts": len(items),
              "render_seconds": round(seconds, 1),
              "mean_engine_ms": round(float(np.mean([t["totalMs"] for t in timings])), 1) if timings else None,
              "table": table}
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(report, f, indent=1)
    contact_sheet(items, out)
    return report


def print_table(report):
    print(f"{report['model']}: {report['steps']} step(s), guidance {report['guidance']}, {report.get('precision', 'fp32')}, {report['prompts']} prompts, "
          f"{report['render_seconds']} s ({report['mean_engine_ms']} ms/image in the engine)")
    for split, t in report["table"].items():
        s, c, r = t["single"], t["count"], t["relation"]
        print(f"  {split:8s} single colour+shape {s['color_shape']:.1%} (n={s['n']}), with position {s['position']:.1%} "
              f"(n={s.get('n_position', s['n'])}; in the named cell {s.get('cell', float('nan')):.1%}) | count exact {c['count']:.1%} (n={c['n']}) | "
              f"relation fully correct {r['relation']:.1%} (n={r['n']})")


def engine_arguments(ap, out=None, out_help=None):
    """The options of every tool that renders through the Swift engine: --out (required unless `out` gives a
    default), --mdd (the release build), --steps, --guidance."""
    ap.add_argument("--out", required=out is None, default=out, help=out_help or "where the engine's images go")
    ap.add_argument("--mdd", default=os.path.join(os.path.dirname(__file__), "..", "..", ".build", "release", "mdd"))
    ap.add_argument("--steps", type=int, default=1)
    ap.add_argument("--guidance", type=float, default=0.0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True, help="diffusers folder the Swift engine loads")
    engine_arguments(ap)
    ap.add_argument("--per", type=int, default=100, help="prompts per split × kind (6 groups)")
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32", help="the engine's operand precision (mdd render --precision)")
    ap.add_argument("--split", choices=SPLITS, help="only this split's prompts (default: both)")
    a = ap.parse_args()
    print_table(evaluate(a.mdd, a.model, a.out, a.per, a.steps, a.guidance, a.precision, [a.split] if a.split else SPLITS))


if __name__ == "__main__":
    main()
