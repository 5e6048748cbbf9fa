"""Tail-swap augmentation of the text context: teaches the UNet to take an object's colour from the colour word.

shapes.context_swap found that the generator reads colour and shape *together* from the text states after the colour
word (with CLIP's causal mask, the noun's state and everything after it have seen the colour): give "a yellow square"
the states after "yellow" from "a purple square" and it draws a purple square. A held-out pair's tail is then a state
the UNet never met, and it draws the nearest seen one (yellow squares come out as yellow circles).

This augmentation, for a share p of the single-object and count prompts of a batch, replaces the states after the
object's colour word with those of a twin prompt that names another colour (one seen on that shape, as many BPE
tokens, not the background) while the target stays the original image. The tail then carries a colour that is wrong
as often as the augmentation fires, so the only reliable colour source left is the colour word's own state (which,
causally, has not seen the noun), and the shape still comes from the tail, which names the right one. The text
encoder is unchanged, so what the UNet already reads (shape, size, position, count) stays valid.

Relation prompts (two coloured nouns) are left alone. Used by `train_gan --tail-swap P`.

Measured on the shipped generator (model card, "ruled out"): it made things worse — colours broke first, the seen
pairs came back within 800 steps, the held-out ones did not (108 → 54 of 150) and their shape errors grew: the shape
is not cleanly in the tail either. Kept as the tested negative result, off by default.
"""
import random

import torch

from .grammar import COLORS, PLURAL, SHAPE_SYNONYMS, allowed, coloured_nouns
from .train_unet import token_ids

_SINGULAR = {p: n for n, p in PLURAL.items()}
_SHAPE_OF = {word: shape for shape, words in SHAPE_SYNONYMS.items() for word in words}  # "box" → "square"


def object_colour(prompt):
    """(word index, colour, shape) of the prompt's only coloured object noun ("two small yellow boxes …" →
    (2, "yellow", "square")), or None when it names none or more than one (relations)."""
    hits = coloured_nouns(prompt, COLORS)
    if len(hits) != 1:
        return None
    i, words = hits[0], prompt.split()
    noun = words[i + 1].rstrip(",")
    return i, words[i], _SHAPE_OF[_SINGULAR.get(noun, noun)]


def twin_prompt(prompt, rng, token_count):
    """The prompt with its object colour replaced by another one seen on the same shape, with token_count[colour]
    BPE tokens like the original and not named elsewhere in the prompt (a background); None when there is none."""
    found = object_colour(prompt)
    if found is None:
        return None
    i, colour, shape = found
    words = prompt.split()
    options = [c for c in COLORS if c != colour and allowed(c, shape, "train") and token_count[c] == token_count[colour]
               and c not in words]
    if not options:
        return None
    words[i] = rng.choice(options)
    return " ".join(words)


class TailSwap:
    """Applies the augmentation to a batch's context [B, L, D] (the text encoder's states of `prompts`)."""

    def __init__(self, tok, encode, probability):
        self.tok, self.encode, self.p = tok, encode, probability
        self.token_count = {c: len(tok(c).input_ids) - 2 for c in COLORS}

    def __call__(self, prompts, context, seed):
        """A new context tensor (the input is not modified) and the number of rows swapped; draws depend on seed only."""
        if not self.p:
            return context, 0
        rng = random.Random(seed)
        rows, twins = [], []
        for j, prompt in enumerate(prompts):
            if rng.random() < self.p:
                twin = twin_prompt(prompt, rng, self.token_count)
                if twin is not None:
                    rows.append(j); twins.append(twin)
        if not rows:
            return context, 0
        own_ids, twin_ids = token_ids(self.tok, [prompts[j] for j in rows]), token_ids(self.tok, twins)
        twin_states = self.encode(twins)
        out = context.clone()
        for k, j in enumerate(rows):
            diff = (own_ids[k] != twin_ids[k]).nonzero()[:, 0]
            last = int(diff.max())  # the colour word's last token: only its tokens differ (same token count)
            out[j, last + 1:] = twin_states[k, last + 1:]
        return out, len(rows)


def check():
    """Self-check of the prompt side (no model): python -c 'from shapes.tail_swap import check; check()'."""
    assert object_colour("two small yellow boxes on a black background") == (2, "yellow", "square")
    assert object_colour("a red circle to the left of a blue square") is None
    counts = {c: (2 if c in ("orange", "yellow", "purple") else 1) for c in COLORS}
    rng = random.Random(0)
    for _ in range(200):
        t = twin_prompt("a small orange circle on a purple background", rng, counts)
        assert t == "a small yellow circle on a purple background", t
        t = twin_prompt("a big red box", rng, counts)
        assert t.split()[2] in ("green", "blue", "white", "black"), t
    assert twin_prompt("a purple square", rng, counts) is None  # orange/yellow squares are held out
    from .grammar import sample_scene
    for _ in range(2000):  # every grammar phrasing: the object found is the scene's own, relations are skipped
        scene = sample_scene(rng)
        found = object_colour(scene.prompt)
        want = None if scene.kind == "relation" else (scene.objects[0].color, scene.objects[0].shape)
        assert (found and found[1:]) == want, (scene.prompt, found)
    print("tail_swap: ok")
