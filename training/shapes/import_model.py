"""The inverse of export.py: turns an exported model folder (diffusers format, F16) back into training state, so
training can continue from a release when $MDD_TRAIN_DIR is gone (a new machine; it lives outside git).

Writes $MDD_TRAIN_DIR/<name>/checkpoint.pt with the text encoder and UNet as both the raw and the EMA weights (the
keys train_unet --init, train_text --init-text, train_unet --text-encoder, teacher_pairs, train_gan and export read),
and the VAE as $MDD_TRAIN_DIR/vae/<its recorded name, e.g. final-decoder3> (a complete AutoencoderKL: the release's
encoder and decoder). Weights come back as F32 copies of the F16 release, so a re-export
(`export --checkpoint <name> --vae final-decoder3`) is byte-identical to it.

  python -m shapes.import_model --model ../models/shapes-md --name shipped          (from training/)

Note that the shipped UNet is the one-step generator of stage 3, not the multi-step teacher: stage 2 continued
from it (train_unet --init shipped/checkpoint.pt) is a teacher again after a few thousand steps.
"""
import argparse
import json
import os

import torch
from diffusers import AutoencoderKL
from safetensors.torch import load_file

from .latents import train_root
from .model_configs import unet_config_of
from .train_unet import build, train_dir


def import_model(model, name):
    te_w = {k: v.float() for k, v in load_file(os.path.join(model, "text_encoder", "model.safetensors")).items()}
    unet_w = {k: v.float() for k, v in load_file(os.path.join(model, "unet", "diffusion_pytorch_model.safetensors")).items()}
    _, te, unet = build(unet_config=unet_config_of(unet_w))
    # The modules of this project's architecture (model_configs), strictly: an error names the weights that do not fit.
    te.load_state_dict(te_w)
    unet.load_state_dict(unet_w)
    state = {"te": te.state_dict(), "ema_te": te.state_dict(), "unet": unet.state_dict(), "ema_unet": unet.state_dict(),
             "imported_from": os.path.abspath(model)}
    ckpt = os.path.join(train_dir(name), "checkpoint.pt")
    torch.save(state, ckpt + ".tmp")
    os.replace(ckpt + ".tmp", ckpt)
    # The VAE goes back under the name export.py recorded (its decoder's, e.g. final-decoder3), so that
    # `export --vae` with that name writes the release's vae/config.json again; else under `name`.
    with open(os.path.join(model, "vae", "config.json")) as f:
        vae_name = os.path.basename(json.load(f).get("_name_or_path", "")) or name  # from_pretrained overwrites it
    vae = AutoencoderKL.from_pretrained(os.path.join(model, "vae")).float()
    vae.save_pretrained(os.path.join(train_root(), "vae", vae_name))
    print(f"imported {model}: {ckpt}, vae/{vae_name}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True, help="an exported model folder (export.py's --out)")
    ap.add_argument("--name", required=True, help="run folder under $MDD_TRAIN_DIR (and VAE folder under its vae/)")
    a = ap.parse_args()
    import_model(a.model, a.name)
