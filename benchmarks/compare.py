"""Side-by-side benchmark: our engine (`mdd bench`) and diffusers/PyTorch on the SAME weights, in one run.

For a configs-only folder (configs/sd-turbo, configs/mobilediffusion-512) it first materialises random weights
(PyTorch's default initialisation, torch.manual_seed(--weights-seed)) into a temporary diffusers folder — F32
safetensors plus the CLIP tokenizer files — so both engines load identical bytes. A folder that already holds
weights (models/shapes-md) is used as is. Each engine runs in its own process (so peak RSS is its own), with the
same thread count, one warm-up and --runs timed runs; the table prints median milliseconds per stage, our
GFLOP/s from the engine's FLOP count, peak RSS, and the ratios ours/diffusers (< 1 means we are faster).

Setup (once):  python3 -m venv ~/fxenv && ~/fxenv/bin/pip install -r training/fixtures/requirements.txt
               swift build -c release --product mdd
Usage:         ~/fxenv/bin/python benchmarks/compare.py configs/mobilediffusion-512 [--runs 3] [--threads 2]
               ~/fxenv/bin/python benchmarks/compare.py models/shapes-md --runs 20
               ~/fxenv/bin/python benchmarks/compare.py configs/mobilediffusion-512 --precision bf16 --openvino
--precision bf16 runs `mdd bench --precision bf16` beside diffusers under torch.autocast bf16 with channels_last (the
fair bf16 peer); --openvino adds OpenVINO (pip `openvino`) on the same modules in the same precision.
Not run by CI: it needs PyTorch and minutes of CPU.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
STAGES = ["text_encoder", "unet", "decode"]


def has_weights(folder):
    return any(n.endswith(".safetensors") for _, _, ns in os.walk(folder) for n in ns)


def materialise(config_folder, out, seed):
    """Random weights for every component of a configs-only folder, written as a loadable diffusers folder."""
    import torch
    from safetensors.torch import save_file

    sys.path.insert(0, HERE)
    sys.path.insert(0, os.path.join(ROOT, "training", "fixtures"))
    from clip_vocab import clip_bpe, write_vocab_merges
    from diffusers_bench import load_components

    torch.manual_seed(seed)
    shutil.copytree(config_folder, out, dirs_exist_ok=True)
    te, unet, vae = load_components(config_folder)
    files = {"text_encoder/model.safetensors": te, "unet/diffusion_pytorch_model.safetensors": unet,
             "vae/diffusion_pytorch_model.safetensors": vae}
    for path, module in files.items():
        save_file({k: v.contiguous() for k, v in module.state_dict().items()}, os.path.join(out, path))
    if not os.path.isdir(os.path.join(out, "tokenizer")):
        vocab, merges = clip_bpe()
        write_vocab_merges(os.path.join(out, "tokenizer"), vocab, merges)


def run_json(cmd, env=None):
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if res.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stderr[-3000:]}")
    return json.loads(res.stdout[res.stdout.index("{"):])


def ours(mdd, folder, runs, threads, precision):
    r = run_json([mdd, "bench", "--model", folder, "--runs", str(runs), "--threads", str(threads), "--precision", precision,
                  "--json"])
    st = {s["name"]: s for s in r["stages"]}
    ms = {"text_encoder": st["tokenize"]["medianMs"] + st["text_encoder"]["medianMs"], "unet": st["unet"]["medianMs"],
          "decode": st["decode"]["medianMs"]}
    return {"ms": ms, "gflop": {k: st[k].get("gflop") for k in STAGES}, "rss": r["peakRSSMB"], "peak": r["sgemmPeakGFLOPS"],
            "core": r.get("backend", r["blasCore"]), "size": f"{r['width']}x{r['height']}", "onednn": r.get("onednn", "-")}


def theirs(python, folder, runs, threads, precision, openvino=False):
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    r = run_json([python, os.path.join(HERE, "diffusers_bench.py"), folder, "--runs", str(runs), "--threads", str(threads),
                  "--weights", "--json", "--precision", precision] + (["--openvino"] if openvino else []), env)
    return {"ms": {k: r["median_ms"][k] for k in STAGES}, "rss": r["peak_rss_mb"], "engine": r["engine"]}


def table(name, a, peers):
    """Ours against each peer: median ms per stage, and ours/peer (< 1 means we are faster)."""
    print(f"\n{name} at {a['size']}, same weights, ours: {a['core']} (oneDNN {a['onednn']}), measured peak "
          f"{a['peak']:.0f} GFLOP/s; peers: " + "; ".join(p["engine"] for p in peers))
    head = f"{'stage':<14}{'ours ms':>10}" + "".join(f"{'peer' + str(i + 1) + ' ms':>12}{'ours/peer' + str(i + 1):>12}"
                                                    for i in range(len(peers)))
    print(head + f"{'ours GFLOP/s':>14}{'% of peak':>11}")
    for k in STAGES + ["total"]:
        x = sum(a["ms"].values()) if k == "total" else a["ms"][k]
        row = f"{k:<14}{x:>10.1f}"
        for p in peers:
            y = sum(p["ms"].values()) if k == "total" else p["ms"][k]
            row += f"{y:>12.1f}{x / y:>12.2f}"
        flop = sum(v or 0 for v in a["gflop"].values()) if k == "total" else a["gflop"][k]
        rate = flop / (x / 1000) if flop else None
        print(row + (f"{rate:>14.1f}{100 * rate / a['peak']:>10.1f}%" if rate else ""))
    print(f"{'peak RSS MB':<14}{a['rss']:>10.0f}" + "".join(f"{p['rss']:>12.0f}{a['rss'] / p['rss']:>12.2f}" for p in peers))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder", help="configs-only folder (random weights are made) or a model folder with weights")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--weights-seed", type=int, default=0)
    ap.add_argument("--mdd", default=os.path.join(ROOT, ".build", "release", "mdd"))
    ap.add_argument("--keep", help="write the materialised weights here and keep them (default: a temporary folder)")
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    ap.add_argument("--openvino", action="store_true", help="add OpenVINO (pip openvino) as a second peer")
    a = ap.parse_args()
    tmp = None
    folder = a.folder
    if not has_weights(folder):
        folder = a.keep or tempfile.mkdtemp(prefix="mdd-compare-")
        tmp = None if a.keep else folder
        print(f"materialising random weights (seed {a.weights_seed}) for {a.folder} in {folder} ...", flush=True)
        materialise(a.folder, folder, a.weights_seed)
    try:
        peers = [theirs(sys.executable, folder, a.runs, a.threads, a.precision)]
        if a.openvino:
            peers.append(theirs(sys.executable, folder, a.runs, a.threads, a.precision, openvino=True))
        x = ours(a.mdd, folder, a.runs, a.threads, a.precision)
        table(f"{os.path.basename(a.folder.rstrip('/'))} {a.precision}", x, peers)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
