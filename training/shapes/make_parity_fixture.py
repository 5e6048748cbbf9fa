"""Parity fixture for the shipped default model: the PyTorch pipeline (training/mdiff/pipeline.py over the exported
folder's own F16 weights) renders a few prompts; `swift test` (ShippedModelTests) renders the same with the Swift
engine and requires ±1 level on ≥ 99.9 % of the 8-bit values. Rerun after every export:

  python -m shapes.make_parity_fixture --model ../models/shapes-md          (from training/)
"""
import argparse
import hashlib
import json
import os

import numpy as np
import torch
from diffusers import AutoencoderKL, DDIMScheduler
from safetensors.torch import load_file, save_file
from transformers import CLIPTextModel, CLIPTokenizer

from mdiff import MDUNet2DConditionModel
from mdiff.pipeline import generate

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "EngineTests", "Fixtures", "shapes-md")
CASES = [  # prompt, negative prompt, seed, steps, guidance
    ("a purple triangle at the top left", None, 1, 1, 0.0),      # a held-out colour–shape pair
    ("three blue squares on a beige background", None, 2, 1, 0.0),
    ("a red circle to the left of a yellow triangle", None, 3, 1, 0.0),
    ("a zebra-striped 🦓 hexagon, très joli", None, 4, 1, 0.0),  # unknown words fall back to byte tokens
    ("a big green square", "a small square", 5, 4, 2.0),           # several steps with guidance and a negative prompt
]


def load(folder):
    tok = CLIPTokenizer.from_pretrained(os.path.join(folder, "tokenizer"))
    te = CLIPTextModel.from_pretrained(os.path.join(folder, "text_encoder"), torch_dtype=torch.float32).eval()
    with open(os.path.join(folder, "unet", "config.json")) as f:
        unet = MDUNet2DConditionModel(**json.load(f)).eval()
    unet.load_state_dict({k: v.float() for k, v in load_file(os.path.join(folder, "unet", "diffusion_pytorch_model.safetensors")).items()})
    vae = AutoencoderKL.from_pretrained(os.path.join(folder, "vae"), torch_dtype=torch.float32).eval()
    sched = DDIMScheduler.from_pretrained(os.path.join(folder, "scheduler"))
    return tok, te, unet, vae, sched


def weights_digest(folder):
    """The engine's model fingerprint (TextToImage.fingerprint): SHA-256 over "path:sha256(file)" of the three
    weight files, so the Swift test can say when the fixture was made for other weights."""
    h = hashlib.sha256()
    for path in ["text_encoder/model.safetensors", "unet/diffusion_pytorch_model.safetensors", "vae/diffusion_pytorch_model.safetensors"]:
        with open(os.path.join(folder, path), "rb") as f:
            h.update(f"{path}:{hashlib.sha256(f.read()).hexdigest()}".encode())
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    a = ap.parse_args()
    torch.set_num_threads(2)
    tok, te, unet, vae, sched = load(a.model)
    os.makedirs(OUT, exist_ok=True)
    tensors, cases = {}, []
    for i, (prompt, neg, seed, steps, guidance) in enumerate(CASES):
        img = generate(tok, te, unet, vae, sched, prompt, seed, steps=steps, guidance=guidance, negative_prompt=neg)
        key = f"image_{i}"
        tensors[key] = torch.from_numpy(img.astype(np.float32)).half().contiguous()  # integers ≤ 255: exact in F16
        cases.append({"prompt": prompt, "negative_prompt": neg, "seed": seed, "steps": steps, "guidance": guidance,
                      "width": img.shape[1], "height": img.shape[0], "key": key})
    save_file(tensors, os.path.join(OUT, "reference.safetensors"))
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump({"renders": cases, "weights_sha256": weights_digest(a.model), "torch": torch.__version__}, f, indent=1)
    print(f"wrote {len(cases)} reference renders to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
