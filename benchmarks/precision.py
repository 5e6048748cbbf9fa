#!/usr/bin/env python3
"""What bf16 operands cost in image quality (and, on this CPU, in time): renders the same prompts and seeds with
`mdd render --precision fp32` and `--precision bf16` and prints the PSNR of each bf16 image against its fp32 twin.

    python3 benchmarks/precision.py [MODEL_DIR] [--prompts FILE] [--limit N] [--steps S] [--guidance G]

MODEL_DIR defaults to the embedded model; a configs-only folder needs weights first (`compare.py --keep DIR`
materialises random ones). Needs numpy and Pillow (the training/fixture environment has both). The bf16 mode rounds
every product's operands to bfloat16 and sums in fp32 — what a bf16 GEMM kernel computes — so the PSNR is that of a
real bf16 path. Where the CPU multiplies bf16 natively (AVX512-BF16, AMX) the bf16 renders run through oneDNN and their time is real; elsewhere the rounding is emulated and extra work (see `Precision`).
"""
import argparse
import json
import os
import subprocess
import tempfile

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def render(mdd, model, prompts, out, precision, steps, guidance):
    cmd = [mdd, "render", "--prompts", prompts, "--out-dir", out, "--precision", precision, "--seed", "1000",
           "--steps", str(steps), "--guidance", str(guidance), "--json"]
    if model:
        cmd += ["--model", model]
    res = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", nargs="?", help="diffusers folder (default: the embedded model)")
    ap.add_argument("--prompts", default=os.path.join(ROOT, "examples", "sample-batch.txt"))
    ap.add_argument("--limit", type=int, default=0, help="first N prompts only (0: all)")
    ap.add_argument("--steps", type=int, default=1)
    ap.add_argument("--guidance", type=float, default=0.0)
    ap.add_argument("--mdd", default=os.path.join(ROOT, ".build", "release", "mdd"))
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        prompts = a.prompts
        if a.limit:
            prompts = os.path.join(tmp, "prompts" + os.path.splitext(a.prompts)[1])
            with open(a.prompts) as f, open(prompts, "w") as g:
                g.writelines([line for line in f if line.strip()][: a.limit])
        t32 = render(a.mdd, a.model, prompts, os.path.join(tmp, "fp32"), "fp32", a.steps, a.guidance)
        t16 = render(a.mdd, a.model, prompts, os.path.join(tmp, "bf16"), "bf16", a.steps, a.guidance)
        names = sorted(os.listdir(os.path.join(tmp, "fp32")))
        values, maxdiff = [], 0
        for n in names:
            x = np.asarray(Image.open(os.path.join(tmp, "fp32", n)).convert("RGB"))
            y = np.asarray(Image.open(os.path.join(tmp, "bf16", n)).convert("RGB"))
            values.append(psnr(x, y))
            maxdiff = max(maxdiff, int(np.abs(x.astype(int) - y.astype(int)).max()))
    finite = [v for v in values if v != float("inf")]
    ms32 = np.median([t["totalMs"] for t in t32]) if t32 else float("nan")
    ms16 = np.median([t["totalMs"] for t in t16]) if t16 else float("nan")
    print(f"{a.model or 'embedded model'}: {len(values)} images, bf16 vs fp32 PSNR mean "
          f"{np.mean(finite) if finite else float('inf'):.1f} dB, min {min(values):.1f} dB, "
          f"{len(values) - len(finite)} identical; max level difference {maxdiff}")
    print("per image (dB): " + " ".join(f"{v:.1f}" for v in values))
    print(f"median ms/image in the engine: fp32 {ms32:.1f}, bf16 {ms16:.1f} ({ms16 / ms32:.2f}x)")


if __name__ == "__main__":
    main()
