"""A cached latent dataset for stages 2 and 3: N scenes rendered and encoded once by the stage-1 VAE, so the
diffusion and GAN stages spend their CPU on the UNet, not on re-encoding images.

Stores the posterior mean (F16, [N, 8, 16, 16], already multiplied by the VAE's scaling factor; the VAE was
trained on its mean, see train_vae.py) and the prompts, in $MDD_TRAIN_DIR/latents-<seed>.pt (written atomically).

  python -m shapes.latents --count 60000          (from training/; needs $MDD_TRAIN_DIR/vae/final, or --vae NAME)
  python -m shapes.latents --count 32000 --seed 7 --extra-colours --vae final-decoder3   (grammar.TRAIN_ONLY_COLORS too)
"""
import argparse
import os
import time

import torch

from .data import batch
from .grammar import SIZE_SYNONYMS


def train_root():
    return os.environ.get("MDD_TRAIN_DIR", os.path.expanduser("~/mdd-train"))


def cache_path(seed):
    return os.path.join(train_root(), f"latents-{seed}.pt")


class LatentCache:
    """Random minibatches of (latent, prompt) from the cache; deterministic per (seed, step)."""

    def __init__(self, seed):
        d = torch.load(cache_path(seed))
        self.mean, self.prompts = d["mean"], d["prompts"]

    def __len__(self):
        return len(self.prompts)

    def batch(self, step, size, seed=0, weights=None):
        """(latents [size, 8, 16, 16], prompts), drawn uniformly or, with weights [N], in proportion to them."""
        g = torch.Generator().manual_seed(seed * 1_000_003 + step)
        if weights is None:
            idx = torch.randint(0, len(self), (size,), generator=g)
        else:
            idx = torch.multinomial(weights, size, replacement=True, generator=g)
        return self.mean[idx].float(), [self.prompts[i] for i in idx.tolist()]

    def small_object_weights(self, boost):
        """Sampling weights [N]: `boost` for prompts whose objects are small (grammar.SIZE_SYNONYMS), 1 for the rest."""
        words = set(SIZE_SYNONYMS["small"])
        small = torch.tensor([bool(words & set(p.split())) for p in self.prompts])
        return 1 + (boost - 1) * small.float()


@torch.no_grad()
def build(count, seed, chunk=64, extra_colours=False, vae_name="final"):
    """Encodes `count` scenes of data seed `seed` (extra_colours: grammar.sample_scene's) with the encoder of
    $MDD_TRAIN_DIR/vae/<vae_name> (every stage-1b decoder keeps stage 1's encoder, so any of them gives the same latents)."""
    from diffusers import AutoencoderKL  # only building the cache needs diffusers

    vae = AutoencoderKL.from_pretrained(os.path.join(train_root(), "vae", vae_name)).eval()
    scale = vae.config.scaling_factor
    means, prompts = [], []
    t0 = time.time()
    for step in range((count + chunk - 1) // chunk):
        x, p, _ = batch(seed=seed, step=step, size=min(chunk, count - step * chunk), extra_colours=extra_colours)
        post = vae.encode(x).latent_dist
        means.append((post.mean * scale).half())
        prompts += p
        if step % 50 == 0:
            print(f"{len(prompts)} / {count} encoded, {len(prompts) / (time.time() - t0):.0f} img/s", flush=True)
    out = cache_path(seed)
    torch.save({"mean": torch.cat(means), "prompts": prompts, "scaling_factor": scale, "extra_colours": extra_colours}, out + ".tmp")
    os.replace(out + ".tmp", out)
    print(f"wrote {out}: {len(prompts)} latents in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=60000)
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--extra-colours", action="store_true", help="scenes also in grammar.TRAIN_ONLY_COLORS")
    ap.add_argument("--vae", default="final", help="the AutoencoderKL folder under $MDD_TRAIN_DIR/vae whose encoder to use")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    build(a.count, a.seed, extra_colours=a.extra_colours, vae_name=a.vae)
