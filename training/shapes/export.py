"""Exports the trained default model as a diffusers-format folder (F16 safetensors) that the Swift engine loads:
tokenizer (CLIP BPE vocab.json + merges.txt), text_encoder, unet (md_* config keys), vae, scheduler (one-step
DDIM, v-prediction, cosine betas), model_index.json.

  python -m shapes.export --out ../models/shapes-md [--checkpoint unet|distill] [--vae final-decoder2]  (from training/)
"""
import argparse
import json
import os
import shutil
import sys

import torch
from diffusers import AutoencoderKL
from safetensors.torch import save_file

from .model_configs import SCHEDULER_CONFIG, TOKEN_LENGTH, UNET_CONFIG, tokenizer_vocab, unet_config_of
from .train_unet import build, train_dir

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fixtures"))
from clip_vocab import write_vocab_merges  # noqa: E402


def save_f16(state, path):
    save_file({k: v.detach().to(torch.float16).contiguous() for k, v in state.items()}, path)


# The model card has one home, the shipped folder's README.md; every exported one-step folder gets a copy.
CARD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "models", "shapes-md", "README.md")


def export(out, stage="unet", weights="ema", vae_name=None):
    card = open(CARD).read() if os.path.exists(CARD) else None  # read first: `out` may be the card's own folder
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    ckpt = torch.load(os.path.join(train_dir(stage), "checkpoint.pt"))
    tok, te, unet = build(unet_config=unet_config_of(ckpt["ema_unet"]))
    te.load_state_dict(ckpt["ema_te" if weights == "ema" else "te"])
    unet.load_state_dict(ckpt["ema_unet" if weights == "ema" else "unet"])
    vocab, merges = tokenizer_vocab()
    write_vocab_merges(os.path.join(out, "tokenizer"), vocab, merges)
    with open(os.path.join(out, "tokenizer", "tokenizer_config.json"), "w") as f:
        json.dump({"model_max_length": TOKEN_LENGTH, "pad_token": "<|endoftext|>", "bos_token": "<|startoftext|>",
                   "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>", "tokenizer_class": "CLIPTokenizer"}, f, indent=1)
    os.makedirs(os.path.join(out, "text_encoder"))
    te.config.save_pretrained(os.path.join(out, "text_encoder"))
    save_f16(te.state_dict(), os.path.join(out, "text_encoder", "model.safetensors"))
    unet.save_config(os.path.join(out, "unet"))
    save_f16(unet.state_dict(), os.path.join(out, "unet", "diffusion_pytorch_model.safetensors"))
    # The named AutoencoderKL under $MDD_TRAIN_DIR/vae, else the stage-1b decoder when it exists (same encoder and
    # latent space, sharper small shapes), else stage 1's.
    vae_dir = os.path.join(train_dir("vae"), vae_name or "final-decoder")
    if vae_name is None and not os.path.isdir(vae_dir):
        vae_dir = os.path.join(train_dir("vae"), "final")
    vae = AutoencoderKL.from_pretrained(vae_dir)
    os.makedirs(os.path.join(out, "vae"))
    # from_pretrained recorded this machine's path as _name_or_path; keep only the decoder's name (provenance).
    vae.register_to_config(_name_or_path=os.path.basename(vae_dir))
    vae.save_config(os.path.join(out, "vae"))
    save_f16(vae.state_dict(), os.path.join(out, "vae", "diffusion_pytorch_model.safetensors"))
    os.makedirs(os.path.join(out, "scheduler"))
    with open(os.path.join(out, "scheduler", "scheduler_config.json"), "w") as f:
        json.dump({"_class_name": "DDIMScheduler", **SCHEDULER_CONFIG}, f, indent=1)
    with open(os.path.join(out, "model_index.json"), "w") as f:
        json.dump({"_class_name": "StableDiffusionPipeline", "_name_or_path": "shapes-md"}, f, indent=1)
    assert UNET_CONFIG["sample_size"] == unet.config["sample_size"]
    if "disc" in ckpt and card is not None:  # a stage-3 (one-step) checkpoint, whatever its run's name: a release candidate
        with open(os.path.join(out, "README.md"), "w") as f:
            f.write(card)
    total = sum(os.path.getsize(os.path.join(d, n)) for d, _, ns in os.walk(out) for n in ns)
    print(f"exported {out}: {total / 1e6:.1f} MB")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--checkpoint", default="unet")
    ap.add_argument("--weights", default="ema", choices=["ema", "raw"], help="the EMA weights (shipped) or the raw ones")
    ap.add_argument("--vae", help="an AutoencoderKL folder under $MDD_TRAIN_DIR/vae (default final-decoder, else final)")
    a = ap.parse_args()
    export(a.out, a.checkpoint, a.weights, a.vae)
