"""Stage 2a of the default model: supervised pre-training of the text encoder on the prompts' ground truth.

Why: trained only through the diffusion loss, the text encoder of the first releases encoded colour strongly and
almost nothing else — the final hidden states of "a large red square in the top left" and "… in the bottom right"
differed by 2 (norm ~16 per token) against 12–15 for "red" vs "blue" — so the UNet could not follow position or
shape words however long it trained (objects landed where the noise put them). This stage trains linear heads on
every token from the first end-of-text token on (those tokens see the whole prompt and make up most of the 40 the
UNet attends to) to read each attribute of the scene: kind, each object's colour and shape, size, named position,
count, relation, background. Prompts come from the grammar's training split, so held-out colour–shape pairs stay
unseen; the report is the heads' accuracy on held-out-pair prompts.

  python -m shapes.train_text --steps 1500 [--init RUN]          (from training/; then train_unet --text-encoder text)
  python -m shapes.train_text --init-text shipped --extra-colours --steps 400 --name text-x
      (continues an imported release's text encoder, shapes.import_model, with grammar.TRAIN_ONLY_COLORS in the
      prompts and colour heads of 11 classes)
  python -m shapes.train_text --init-text shipped --extra-colours --colour-invariance 1 --steps 400 --name text-inv
      (the states after each object's colour word made independent of that colour: the colour heads read the colour
      word's own last token, and a consistency loss ties every later state to the same prompt's with the colour
      swapped for another of as many BPE tokens that keeps the pair seen; see the model card's context_swap finding)
"""
import argparse
import json
import os
import random
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from .grammar import BACKGROUNDS, COLORS, PALETTE, PLURAL, POSITIONS, SHAPES, SHAPE_SYNONYMS, SIZES, allowed, sample_scene
from .model_configs import TOKEN_LENGTH
from .train_unet import build, train_dir

KINDS = ["single", "count", "relation"]
RELATIONS = [None, "left", "right", "above", "below"]
CELLS = [None] + list(POSITIONS.values())


def head_sizes(colours):
    """Attribute → number of classes, for the object colours `colours` (COLORS, or PALETTE with --extra-colours)."""
    return {"kind": 3, "color0": len(colours), "shape0": len(SHAPES), "color1": len(colours) + 1, "shape1": len(SHAPES) + 1,
            "size": len(SIZES), "cell": len(CELLS), "count": 4, "relation": len(RELATIONS), "background": len(BACKGROUNDS) + 1}


def targets(scene, colours):
    """Class index of each attribute of a grammar Scene (index 0 of the optional ones means "none")."""
    a, b = scene.objects[0], scene.objects[1] if scene.kind == "relation" else None
    return {
        "kind": KINDS.index(scene.kind), "color0": colours.index(a.color), "shape0": SHAPES.index(a.shape),
        "color1": 0 if b is None else 1 + colours.index(b.color), "shape1": 0 if b is None else 1 + SHAPES.index(b.shape),
        "size": list(SIZES).index(a.size), "cell": CELLS.index(a.cell) if scene.position_named else 0,
        "count": scene.count - 1, "relation": RELATIONS.index(scene.relation),
        "background": 0 if scene.background is None else 1 + list(BACKGROUNDS).index(scene.background),
    }


class AttributeHeads(nn.Module):
    def __init__(self, dim, sizes):
        super().__init__()
        self.heads = nn.ModuleDict({k: nn.Linear(dim, n) for k, n in sizes.items()})

    def loss_and_accuracy(self, hidden, after_eos, y, colour_at=None):
        """hidden [B, L, D], after_eos [B, L] bool, y {attr: [B]} → (mean cross-entropy over attributes and the
        tokens from the first end-of-text on, {attr: accuracy of the first end-of-text token}). colour_at {"color0",
        "color1": [B] token index, -1 where the prompt has no such colour word}: those heads read that one token
        instead (and score "none" where it is -1)."""
        h = hidden[after_eos]  # [T, D]
        rows = after_eos.nonzero()[:, 0]  # [T] prompt of each token
        first = after_eos.float().argmax(1)  # [B] first end-of-text position
        loss, acc = 0.0, {}
        for k, head in self.heads.items():
            if colour_at is not None and k in colour_at:
                at = colour_at[k]
                logits = head(hidden[torch.arange(len(at)), at.clamp(min=0)])
                logits = torch.where((at >= 0)[:, None], logits, F.one_hot(torch.zeros_like(at), logits.shape[1]) * 50.0)
                loss = loss + F.cross_entropy(logits, y[k])
                acc[k] = (logits.argmax(-1) == y[k]).float().mean().item()
                continue
            loss = loss + F.cross_entropy(head(h), y[k][rows])
            acc[k] = (head(hidden[torch.arange(len(first)), first]).argmax(-1) == y[k]).float().mean().item()
        return loss / len(self.heads), acc


NOUNS = {w for ws in SHAPE_SYNONYMS.values() for w in ws} | set(PLURAL.values())


def colour_words(prompt, colours):
    """Indices of the words that colour an object ("yellow" in "three small yellow boxes"), in prompt order (a
    relation's first object, then its second); background colours are followed by "background", not a noun."""
    words = prompt.split()
    return [i for i in range(len(words) - 1) if words[i] in colours and words[i + 1].rstrip(",") in NOUNS]


_WORD_TOKENS = {}


def word_tokens(tok, word):
    """Tokens of one space-separated word (cached: CLIP's BPE tokenises each word on its own)."""
    if word not in _WORD_TOKENS:
        _WORD_TOKENS[word] = len(tok(word).input_ids) - 2  # [BOS, tokens…, EOS]
    return _WORD_TOKENS[word]


def last_token(tok, words, i):
    """Index of word i's last token in the tokenised prompt (after BOS at 0)."""
    return sum(word_tokens(tok, w) for w in words[:i + 1])


def colour_twin(tok, rng, scene, which, colours):
    """The prompt with object `which`'s colour word swapped for another colour of as many tokens that keeps every
    colour–shape pair seen (never a held-out pair) and differs from the background and the other object, and the
    index of the swapped word's last token; None when no colour qualifies."""
    words, spots = scene.prompt.split(), colour_words(scene.prompt, colours)
    if which >= len(spots):
        return None
    i, obj = spots[which], scene.objects[0 if which == 0 else 1]
    width = word_tokens(tok, words[i])
    others = {o.color for o in scene.objects} | {scene.background}
    options = [c for c in colours if c not in others and allowed(c, obj.shape, "train") and word_tokens(tok, c) == width]
    if not options:
        return None
    twin = words[:i] + [rng.choice(options)] + words[i + 1:]
    return " ".join(twin), last_token(tok, words, i)


def prompt_batch(tok, rng, size, split, colours, twins=False):
    """Token ids [B, L], the mask of tokens from the first end-of-text on [B, L], each attribute's targets, and the
    colour words' token indices {"color0", "color1": [B], -1 where absent}. twins: also the ids of each prompt's
    colour twin (`colour_twin`, one object's colour swapped; the prompt itself where none qualifies) and [B] the
    index of the swapped word's last token (states after it are compared)."""
    scenes = [sample_scene(rng, split=split, extra_colours=len(colours) > len(COLORS)) for _ in range(size)]
    prompts = [s.prompt for s in scenes]
    ids = tok(prompts, padding="max_length", max_length=TOKEN_LENGTH, truncation=True, return_tensors="pt").input_ids
    eos = tok.eos_token_id
    after_eos = (ids == eos).cumsum(1) > 0
    y = {k: torch.tensor([targets(s, colours)[k] for s in scenes]) for k in head_sizes(colours)}
    spots = [[last_token(tok, p.split(), i) for i in colour_words(p, colours)] for p in prompts]
    colour_at = {f"color{j}": torch.tensor([sp[j] if j < len(sp) else -1 for sp in spots]) for j in (0, 1)}
    if not twins:
        return ids, after_eos, y, colour_at
    pairs = [colour_twin(tok, rng, s, rng.randrange(len(s.objects) if s.kind == "relation" else 1), colours) for s in scenes]
    twin_ids = tok([t[0] if t else p for t, p in zip(pairs, prompts)], padding="max_length", max_length=TOKEN_LENGTH,
                   truncation=True, return_tensors="pt").input_ids
    swapped_at = torch.tensor([t[1] if t else TOKEN_LENGTH for t in pairs])
    return ids, after_eos, y, colour_at, twin_ids, swapped_at


def invariance_loss(hidden, twin_hidden, swapped_at):
    """Mean squared difference of the states after the swapped colour word ([B, L, D] each; positions > swapped_at)."""
    after = torch.arange(hidden.shape[1])[None, :] > swapped_at[:, None]  # [B, L]
    return ((hidden - twin_hidden) ** 2).mean(-1)[after].mean() if after.any() else hidden.sum() * 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--init", help="a stage-2 run folder whose EMA text encoder to start from (default: a fresh one)")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--name", default="text")
    ap.add_argument("--init-text", help="a shapes.train_text (or shapes.import_model) run folder whose text encoder to start from")
    ap.add_argument("--extra-colours", action="store_true", help="training prompts also in grammar.TRAIN_ONLY_COLORS")
    ap.add_argument("--colour-invariance", type=float, default=0.0,
                    help="weight of the consistency loss that makes the states after a colour word independent of it "
                         "(colour heads then read the colour word's own token)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    tok, te, _ = build()
    if a.init:
        te.load_state_dict(torch.load(os.path.join(train_dir(a.init), "checkpoint.pt"))["ema_te"])
    if a.init_text:
        te.load_state_dict(torch.load(os.path.join(train_dir(a.init_text), "checkpoint.pt"))["te"])
    colours = list(PALETTE if a.extra_colours else COLORS)
    heads = AttributeHeads(te.config.hidden_size, head_sizes(colours))
    opt = torch.optim.AdamW(list(te.parameters()) + list(heads.parameters()), lr=a.lr, weight_decay=0.01)
    rng, val_rng = random.Random(1), random.Random(2)
    out = train_dir(a.name)
    log = open(os.path.join(out, "log.jsonl"), "a")
    t0 = time.time()
    for step in range(1, a.steps + 1):
        inv = a.colour_invariance > 0
        batch = prompt_batch(tok, rng, a.batch, "train", colours, twins=inv)
        ids, after_eos, y, colour_at = batch[:4]
        hidden = te(ids)[0]
        loss, acc = heads.loss_and_accuracy(hidden, after_eos, y, colour_at if inv else None)
        if inv:
            consistency = invariance_loss(hidden, te(batch[4])[0], batch[5])
            loss = loss + a.colour_invariance * consistency
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0 or step == a.steps:
            with torch.no_grad():
                ids, after_eos, y, colour_at = prompt_batch(tok, val_rng, 512, "heldout", colours)
                _, val = heads.loss_and_accuracy(te(ids)[0], after_eos, y, colour_at if inv else None)
            rec = {"step": step, "loss": loss.item(), "minutes": (time.time() - t0) / 60, "prompts_seen": step * a.batch,
                   "heldout_accuracy": {k: round(v, 3) for k, v in val.items()}}
            if inv:
                rec["consistency"] = round(consistency.item(), 5)
            print(json.dumps(rec), flush=True)
            log.write(json.dumps(rec) + "\n")
            log.flush()
    torch.save({"te": te.state_dict(), "heads": heads.state_dict(), "init": a.init}, os.path.join(out, "checkpoint.pt.tmp"))
    os.replace(os.path.join(out, "checkpoint.pt.tmp"), os.path.join(out, "checkpoint.pt"))


if __name__ == "__main__":
    main()
