"""Validates ShapesEval on ground-truth renders: the analyser must read back what the renderer drew.

Usage: python -m shapes.selfcheck [N]   (from training/)
"""
import json
import random
import sys

from .evaluate import analyse, score, summarize
from .grammar import sample_scene
from .render import render


def main(n=600):
    rng = random.Random(1234)
    results = []
    for i in range(n):
        split = "heldout" if i % 2 else "train"
        scene = sample_scene(rng, split=split, kind=["single", "count", "relation"][i % 3])
        img = render(scene)
        results.append((scene, score(scene, analyse(img))))
    summary = summarize(results)
    print(json.dumps(summary, indent=1))
    worst = min(v for t in summary.values() for k, v in t.items() if not k.startswith("n"))
    return 0 if worst >= 0.99 else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 600))
