"""Times one-step generation of a config folder in diffusers/PyTorch (CPU, fp32, random weights), per stage.

Setup (once):  python3 -m venv ~/fxenv && ~/fxenv/bin/pip install -r training/fixtures/requirements.txt
Usage:         ~/fxenv/bin/python benchmarks/diffusers_bench.py configs/sd-turbo [--threads 2] [--runs 3] [--json]
Side by side on the same weights: benchmarks/compare.py (which calls this with --weights)
"""
import argparse
import json
import os
import resource
import statistics
import time

import sys

import torch
from diffusers import AutoencoderKL, AutoencoderTiny, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "training"))
from mdiff import MDUNet2DConditionModel  # noqa: E402


def load_weights(module, path):
    from safetensors.torch import load_file
    missing, unexpected = module.load_state_dict({k: v.float() for k, v in load_file(path).items()}, strict=False)
    if missing or unexpected:
        sys.exit(f"{path}: missing {missing[:5]}, unexpected {unexpected[:5]}")


def load_components(folder, weights=False):
    with open(os.path.join(folder, "text_encoder", "config.json")) as f:
        te = CLIPTextModel(CLIPTextConfig(**{k: v for k, v in json.load(f).items() if not k.startswith("_")})).eval()
    unet_cfg = UNet2DConditionModel.load_config(os.path.join(folder, "unet"))
    if any(k.startswith("md_") for k in unet_cfg):
        unet = MDUNet2DConditionModel(**unet_cfg).eval()  # the PyTorch reference of the MobileDiffusion options
    else:
        unet = UNet2DConditionModel.from_config(unet_cfg).eval()
    vae_cfg = AutoencoderKL.load_config(os.path.join(folder, "vae"))
    vae_cls = AutoencoderTiny if vae_cfg.get("_class_name") == "AutoencoderTiny" else AutoencoderKL
    vae = vae_cls.from_config(vae_cfg).eval()
    if weights:
        load_weights(te, os.path.join(folder, "text_encoder", "model.safetensors"))
        load_weights(unet, os.path.join(folder, "unet", "diffusion_pytorch_model.safetensors"))
        load_weights(vae, os.path.join(folder, "vae", "diffusion_pytorch_model.safetensors"))
    return te, unet, vae


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("folder")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--size", type=int, default=None)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--weights", action="store_true", help="load the folder's safetensors (else random init)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    te, unet, vae = load_components(a.folder, a.weights)
    factor = 2 ** (len(vae.config.block_out_channels) - 1)
    size = a.size or (unet.config["sample_size"] if isinstance(unet.config, dict) else unet.config.sample_size) * factor
    ids = torch.randint(0, 1000, (1, te.config.max_position_embeddings))
    ucfg = unet.config if isinstance(unet.config, dict) else dict(unet.config)
    latents = torch.randn(1, ucfg["in_channels"], size // factor, size // factor)
    times = {"text_encoder": [], "unet": [], "decode": []}
    with torch.inference_mode():
        for run in range(a.runs + 1):
            t0 = time.perf_counter()
            emb = te(ids)[0]
            t1 = time.perf_counter()
            out = unet(latents, torch.tensor([999.0]), encoder_hidden_states=emb)
            out = out if torch.is_tensor(out) else out.sample
            t2 = time.perf_counter()
            vae.decode(out / vae.config.scaling_factor)
            t3 = time.perf_counter()
            if run > 0:  # the first run warms up
                for k, v in zip(("text_encoder", "unet", "decode"), (t1 - t0, t2 - t1, t3 - t2)):
                    times[k].append(v)
    med = {k: statistics.median(v) * 1000 for k, v in times.items()}
    med["total"] = sum(med.values())
    params = {"text_encoder": sum(p.numel() for p in te.parameters()), "unet": sum(p.numel() for p in unet.parameters()),
              "decode": sum(p.numel() for p in vae.decoder.parameters())}
    report = {"engine": f"diffusers/torch {torch.__version__}", "threads": a.threads, "size": size, "median_ms": med, "parameters": params,
              "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if a.json:
        print(json.dumps(report, indent=1))
    else:
        print(f"diffusers {a.folder} {size}x{size}, {a.threads} threads, torch {torch.__version__}")
        for k, v in med.items():
            print(f"  {k:<14}{v:>10.1f} ms")
        print(f"  peak RSS {report['peak_rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
