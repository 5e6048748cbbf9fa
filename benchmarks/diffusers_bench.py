"""Times one-step generation of a config folder in diffusers/PyTorch (CPU, random weights), per stage.

--precision bf16 runs under torch.autocast("cpu", dtype=torch.bfloat16) with channels_last UNet and decoder (the fair
bf16 peer); --openvino converts the same modules with openvino.convert_model and runs them compiled for CPU with
INFERENCE_NUM_THREADS and INFERENCE_PRECISION_HINT (bf16 or f32), the strongest CPU peer.

Setup (once):  python3 -m venv ~/fxenv && ~/fxenv/bin/pip install -r training/fixtures/requirements.txt openvino
Usage:         ~/fxenv/bin/python benchmarks/diffusers_bench.py configs/sd-turbo [--threads 2] [--runs 3] [--json]
               [--precision fp32|bf16] [--openvino]
Side by side on the same weights: benchmarks/compare.py (which calls this with --weights)
"""
import contextlib
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


class UNetOnly(torch.nn.Module):
    """The UNet as a function of tensors only (what OpenVINO traces)."""

    def __init__(self, unet):
        super().__init__()
        self.unet = unet

    def forward(self, sample, timestep, context):
        out = self.unet(sample, timestep, encoder_hidden_states=context)
        return out if torch.is_tensor(out) else out.sample


class DecodeOnly(torch.nn.Module):
    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, latents):
        return self.vae.decode(latents).sample


class TextOnly(torch.nn.Module):
    def __init__(self, te):
        super().__init__()
        self.te = te

    def forward(self, ids):
        return self.te(ids)[0]


def openvino_stages(te, unet, vae, ids, latents, threads, precision):
    """The three stages compiled by OpenVINO for CPU; returns callables of the same inputs and their config."""
    import openvino as ov

    core = ov.Core()
    cfg = {"INFERENCE_NUM_THREADS": threads, "INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32"}
    t = torch.tensor([999.0])
    with torch.no_grad():  # not inference_mode: tracing cannot take inference tensors as example inputs
        emb = te(ids)[0]
    compiled = {
        "text_encoder": core.compile_model(ov.convert_model(TextOnly(te), example_input=(ids,)), "CPU", cfg),
        "unet": core.compile_model(ov.convert_model(UNetOnly(unet), example_input=(latents, t, emb)), "CPU", cfg),
        "decode": core.compile_model(ov.convert_model(DecodeOnly(vae), example_input=(latents,)), "CPU", cfg),
    }
    hint = compiled["unet"].get_property("INFERENCE_PRECISION_HINT")
    return compiled, f"OpenVINO {ov.__version__} ({hint})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("folder")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--size", type=int, default=None)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--weights", action="store_true", help="load the folder's safetensors (else random init)")
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    ap.add_argument("--openvino", action="store_true", help="run the modules compiled by OpenVINO instead of PyTorch")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    te, unet, vae = load_components(a.folder, a.weights)
    factor = 2 ** (len(vae.config.block_out_channels) - 1)
    size = a.size or (unet.config["sample_size"] if isinstance(unet.config, dict) else unet.config.sample_size) * factor
    ids = torch.randint(0, 1000, (1, te.config.max_position_embeddings))
    ucfg = unet.config if isinstance(unet.config, dict) else dict(unet.config)
    latents = torch.randn(1, ucfg["in_channels"], size // factor, size // factor)
    scale = vae.config.scaling_factor
    if a.openvino:
        ov_stages, engine = openvino_stages(te, unet, vae, ids, latents, a.threads, a.precision)
        text = lambda: torch.from_numpy(ov_stages["text_encoder"]((ids,))[0])
        denoise = lambda emb: torch.from_numpy(ov_stages["unet"]((latents, torch.tensor([999.0]), emb))[0])
        decode = lambda x: ov_stages["decode"]((x / scale,))[0]
        autocast = contextlib.nullcontext()
    else:
        if a.precision == "bf16":
            unet = unet.to(memory_format=torch.channels_last)
            vae = vae.to(memory_format=torch.channels_last)
            latents = latents.contiguous(memory_format=torch.channels_last)
        engine = f"diffusers/torch {torch.__version__}" + (" bf16 autocast, channels_last" if a.precision == "bf16" else "")
        text = lambda: te(ids)[0]

        def denoise(emb):
            out = unet(latents, torch.tensor([999.0]), encoder_hidden_states=emb)
            return out if torch.is_tensor(out) else out.sample

        decode = lambda x: vae.decode(x / scale)
        autocast = torch.autocast("cpu", dtype=torch.bfloat16) if a.precision == "bf16" else contextlib.nullcontext()
    times = {"text_encoder": [], "unet": [], "decode": []}
    with torch.inference_mode(), autocast:
        for run in range(a.runs + 1):
            t0 = time.perf_counter()
            emb = text()
            t1 = time.perf_counter()
            out = denoise(emb)
            t2 = time.perf_counter()
            decode(out)
            t3 = time.perf_counter()
            if run > 0:  # the first run warms up
                for k, v in zip(("text_encoder", "unet", "decode"), (t1 - t0, t2 - t1, t3 - t2)):
                    times[k].append(v)
    med = {k: statistics.median(v) * 1000 for k, v in times.items()}
    med["total"] = sum(med.values())
    params = {"text_encoder": sum(p.numel() for p in te.parameters()), "unet": sum(p.numel() for p in unet.parameters()),
              "decode": sum(p.numel() for p in vae.decoder.parameters())}
    report = {"engine": engine, "threads": a.threads, "size": size, "precision": a.precision, "median_ms": med,
              "parameters": params, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if a.json:
        print(json.dumps(report, indent=1))
    else:
        print(f"{engine}: {a.folder} {size}x{size}, {a.threads} threads, {a.precision}")
        for k, v in med.items():
            print(f"  {k:<14}{v:>10.1f} ms")
        print(f"  peak RSS {report['peak_rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
