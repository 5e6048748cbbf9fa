"""Prompts and their ground truth for the shapes domain.

Colours (fixed RGB): red, orange, yellow, green, blue, purple, white, black. Shapes: circle, square, triangle.
Sizes: small, medium (default), large. Positions: left, right, top, bottom, center (default), top left, top right,
bottom left, bottom right. Backgrounds: white, black, gray, beige (default light gray); object colour ≠ background.
Counts: one to four of the same object. Relations between two objects: left of, right of, above, below.

Phrasing varies: an optional lead ("a picture of", "an image of", "a drawing of"), synonyms (below), and the
background clause either after or before the object. Synonyms: circle = "disc", square = "box", small = "tiny",
large = "big", center = "middle", top = "upper", bottom = "lower", "to the left of" = "left of",
"to the right of" = "right of", "on a X background" = "with a X background".

Held out from all training data, in every context: purple triangle, orange square, green circle, yellow square.

Training-only colours (TRAIN_ONLY_COLORS: pink, brown, teal; `sample_scene(..., extra_colours=True)`): scenes in
colours no evaluation prompt names, each with all three shapes. With the eight colours alone, orange and yellow
come only as circles and triangles, so "orange/yellow → not a square" is a rule the data supports; more colours
that take every shape make the shape word the only thing that decides the shape. They are never backgrounds and
never in the held-out split, and the analyser (evaluate.py) knows only COLORS.
"""
import random
from dataclasses import dataclass, field

COLORS = {
    "red": (220, 40, 40), "orange": (245, 140, 30), "yellow": (240, 220, 40), "green": (40, 160, 60),
    "blue": (40, 80, 220), "purple": (140, 50, 190), "white": (250, 250, 250), "black": (20, 20, 20),
}
# RGB values at least 70 apart (max over channels) from every colour above and every background.
TRAIN_ONLY_COLORS = {"pink": (240, 130, 200), "brown": (130, 80, 30), "teal": (20, 150, 150)}
PALETTE = {**COLORS, **TRAIN_ONLY_COLORS}  # what render() draws
BACKGROUNDS = {"white": (255, 255, 255), "black": (0, 0, 0), "gray": (128, 128, 128), "beige": (225, 210, 170)}
DEFAULT_BACKGROUND = (200, 200, 200)  # "light gray", used when the prompt names none
SHAPES = ["circle", "square", "triangle"]
# Half-extent in pixels at 128x128. The small size is set by what the VAE can carry: ShapesEval reading back small
# single objects from their own reconstructions (`python -m shapes.eval_vae --which D --small-only --small-radius R
# --count 150`, seen / held-out pairs; smaller objects lose a square's corners in the 16x16 latents):
#   9 px (to commit 3834cc8), decoder round 2: 68 / 47 %;  11 px (medium 15, to 2026-11-28): 82 / 61 %, round 3 92 / 77 %;
#   13 px, round 3: 98 / 96 %.  Medium moved 15 -> 17 with it so that small stays visibly smaller (ratio 0.76).
SIZES = {"small": 13, "medium": 17, "large": 24}
POSITIONS = {
    "top left": (0, 0), "top": (1, 0), "top right": (2, 0), "left": (0, 1), "center": (1, 1), "right": (2, 1),
    "bottom left": (0, 2), "bottom": (1, 2), "bottom right": (2, 2),
}
HELD_OUT = {("purple", "triangle"), ("orange", "square"), ("green", "circle"), ("yellow", "square")}
NUMBERS = {1: "one", 2: "two", 3: "three", 4: "four"}
SHAPE_SYNONYMS = {"circle": ["circle", "disc"], "square": ["square", "box"], "triangle": ["triangle"]}
PLURAL = {"circle": "circles", "disc": "discs", "square": "squares", "box": "boxes", "triangle": "triangles"}
SIZE_SYNONYMS = {"small": ["small", "tiny"], "medium": ["medium", ""], "large": ["large", "big"]}
LEADS = ["", "", "a picture of ", "an image of ", "a drawing of "]


@dataclass
class Obj:
    color: str
    shape: str
    size: str = "medium"
    cell: tuple = None  # (col, row) in the 3x3 grid, None = free placement


@dataclass
class Scene:
    kind: str                      # "single", "count" or "relation"
    objects: list
    background: str = None         # None → light gray
    relation: str = None           # "left", "right", "above", "below": objects[0] REL objects[1]
    count: int = 1
    position_named: bool = False   # whether the prompt names a position (single scenes)
    prompt: str = ""
    meta: dict = field(default_factory=dict)


def allowed(color, shape, split):
    held = (color, shape) in HELD_OUT
    return held if split == "heldout" else not held


def pick_pair(rng, split, avoid_bg=None, extra_colours=False):
    colours = list(PALETTE if extra_colours and split == "train" else COLORS)
    while True:
        c, s = rng.choice(colours), rng.choice(SHAPES)
        if allowed(c, s, split) and c != avoid_bg:
            return c, s


def position_phrase(rng, name):
    words = name.replace("center", rng.choice(["center", "middle"]))
    words = words.replace("top", rng.choice(["top", "upper"])).replace("bottom", rng.choice(["bottom", "lower"]))
    return rng.choice(["in the ", "at the "]) + words if " " in name or name in ("center", "top", "bottom") else "on the " + words


def background_phrase(rng, bg):
    return f"{rng.choice(['on', 'with'])} a {bg} background"


def noun(rng, color, shape, size="medium"):
    sz = rng.choice(SIZE_SYNONYMS[size])
    return " ".join(w for w in [sz, color, rng.choice(SHAPE_SYNONYMS[shape])] if w)


def without_object_colour(prompt):
    """The prompt with its object colour word removed when it names exactly one coloured object noun ("two small
    yellow boxes on a black background" → "two small boxes on a black background"); relation prompts (two) and
    anything else come back unchanged. Stage 2's colour dropout: trained on seen pairs only, the teachers drew
    small held-out squares as circles (orange and yellow only ever came as circles and triangles), so the shape
    word has to carry the shape without the colour's help."""
    words, hits = prompt.split(), coloured_nouns(prompt)
    if len(hits) != 1:
        return prompt
    return " ".join(words[:hits[0]] + words[hits[0] + 1:])


def prompt_kind(prompt):
    """The kind of a sample_scene prompt ("single", "count" or "relation") from its text alone: two coloured nouns
    make a relation, a number word a count ("one red circle" counts; singles say "a")."""
    if len(coloured_nouns(prompt)) == 2:
        return "relation"
    return "count" if set(prompt.replace(",", " ").split()) & set(NUMBERS.values()) else "single"


def coloured_nouns(prompt, colours=PALETTE):
    """Word indices of the colour words (of `colours`) that directly precede a shape noun, singular or plural."""
    words = prompt.split()
    nouns = set(PLURAL) | set(PLURAL.values())
    return [i for i in range(len(words) - 1) if words[i] in colours and words[i + 1].rstrip(",") in nouns]


def sample_scene(rng, split="train", kind=None, extra_colours=False):
    """A random scene and its prompt. split: "train" (no held-out pairs) or "heldout" (only held-out pairs for
    the subject objects). extra_colours: objects of "train" scenes also come in TRAIN_ONLY_COLORS (off, the
    random stream is the one every earlier release was trained on)."""
    kind = kind or rng.choices(["single", "count", "relation"], weights=[5, 2, 3])[0]
    bg = rng.choice([None, None] + list(BACKGROUNDS))
    lead = rng.choice(LEADS)
    if kind == "single":
        c, s = pick_pair(rng, split, avoid_bg=bg, extra_colours=extra_colours)
        size = rng.choice(list(SIZES))
        pos = rng.choice([None, None] + list(POSITIONS))
        scene = Scene("single", [Obj(c, s, size, POSITIONS[pos or "center"])], bg, position_named=pos is not None)
        text = "a " + noun(rng, c, s, size)
        if pos:
            text += " " + position_phrase(rng, pos)
    elif kind == "count":
        c, s = pick_pair(rng, split, avoid_bg=bg, extra_colours=extra_colours)
        n = rng.randint(1, 4)
        size = rng.choice(["small", "medium"])
        scene = Scene("count", [Obj(c, s, size) for _ in range(n)], bg, count=n)
        word = rng.choice(SHAPE_SYNONYMS[s])
        text = f"{NUMBERS[n]} " + " ".join(w for w in [rng.choice(SIZE_SYNONYMS[size]), c, PLURAL[word] if n > 1 else word] if w)
    else:
        a = pick_pair(rng, split, avoid_bg=bg, extra_colours=extra_colours)
        # The second object of a held-out relation is a seen pair, in the evaluation's colours only.
        b_split, b_extra = ("train", False) if split == "heldout" else (split, extra_colours)
        b = pick_pair(rng, b_split, avoid_bg=bg, extra_colours=b_extra)
        while b == a:
            b = pick_pair(rng, b_split, avoid_bg=bg, extra_colours=b_extra)
        rel = rng.choice(["left", "right", "above", "below"])
        scene = Scene("relation", [Obj(*a), Obj(*b)], bg, relation=rel)
        phrase = {"left": rng.choice(["to the left of", "left of"]), "right": rng.choice(["to the right of", "right of"]),
                  "above": "above", "below": "below"}[rel]
        text = f"a {noun(rng, *a)} {phrase} a {noun(rng, *b)}"
    if bg:
        clause = background_phrase(rng, bg)
        if rng.random() < 0.8:
            text = f"{text} {clause}"
        else:
            text, lead = f"{clause}, {text}", ""  # "on a gray background, a red circle"
    scene.prompt = (lead + text).strip()
    return scene
