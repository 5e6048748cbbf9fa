"""Batches of (image, prompt, scene) rendered on the fly, deterministic per (seed, step)."""
import random

import numpy as np
import torch

from .grammar import sample_scene
from .render import render


def batch(seed, step, size, split="train", extra_colours=False):
    """Images as float tensors in [-1, 1], [B, 3, 128, 128], with their prompts and scenes (extra_colours:
    grammar.sample_scene's)."""
    rng = random.Random(seed * 1_000_003 + step)
    scenes, imgs = [], []
    for _ in range(size):
        s = sample_scene(rng, split=split, extra_colours=extra_colours)
        imgs.append(render(s))
        scenes.append(s)
    x = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).float() / 127.5 - 1
    return x, [s.prompt for s in scenes], scenes
