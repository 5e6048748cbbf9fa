"""Renders a Scene to a 128x128 RGB uint8 image with crisp flat colours, and places free objects."""
import numpy as np

from .grammar import BACKGROUNDS, COLORS, DEFAULT_BACKGROUND, SIZES

SIZE = 128


def cell_center(cell):
    col, row = cell
    return (SIZE * (2 * col + 1) // 6, SIZE * (2 * row + 1) // 6)


def shape_mask(shape, cx, cy, r, size=SIZE):
    """Boolean mask of one shape centred at (cx, cy) with half-extent r."""
    yy, xx = np.mgrid[0:size, 0:size]
    x, y = xx + 0.5, yy + 0.5
    if shape == "circle":
        return (x - cx) ** 2 + (y - cy) ** 2 <= r * r
    if shape == "square":
        return (abs(x - cx) <= r * 0.9) & (abs(y - cy) <= r * 0.9)
    # Upright isosceles triangle inscribed in the 2r box: apex at the top.
    top, bottom = cy - r, cy + r
    t = (y - top) / (2 * r)
    return (y >= top) & (y <= bottom) & (abs(x - cx) <= t * r)


# Count scenes: one fixed arrangement per number, on the cells of the 3x3 grid (col, row). With n objects
# scattered over random cells (the layout of every release up to 2026-11-27), each latent cell had to decide
# "object here?" alone with probability n/9, and the models drew more objects than asked in 4 of 5 count prompts
# (teacher and one-step alike); a layout fixed by the number is a per-cell decision the text settles.
COUNT_LAYOUTS = {1: [(1, 1)], 2: [(0, 1), (2, 1)], 3: [(0, 1), (1, 1), (2, 1)], 4: [(0, 0), (2, 0), (0, 2), (2, 2)]}


def place(rng, scene):
    """Assigns centres: grid cells for single scenes, relation-consistent spots for pairs, the number's fixed
    arrangement (COUNT_LAYOUTS) for counts."""
    centers = []
    if scene.kind == "single":
        o = scene.objects[0]
        centers.append(cell_center(o.cell))
    elif scene.kind == "relation":
        # objects[0] REL objects[1]: pick two cells on one row (left/right) or one column (above/below).
        i = rng.randint(0, 2)
        if scene.relation in ("left", "right"):
            cols = sorted(rng.sample([0, 1, 2], 2))
            a, b = (cols[0], cols[1]) if scene.relation == "left" else (cols[1], cols[0])
            centers = [cell_center((a, i)), cell_center((b, i))]
        else:
            rows = sorted(rng.sample([0, 1, 2], 2))
            a, b = (rows[0], rows[1]) if scene.relation == "above" else (rows[1], rows[0])
            centers = [cell_center((i, a)), cell_center((i, b))]
    else:
        centers = [cell_center(c) for c in COUNT_LAYOUTS[len(scene.objects)]]
    return centers


def render(rng, scene):
    bg = BACKGROUNDS[scene.background] if scene.background else DEFAULT_BACKGROUND
    img = np.empty((SIZE, SIZE, 3), dtype=np.uint8)
    img[:] = bg
    centers = place(rng, scene)
    for o, (cx, cy) in zip(scene.objects, centers):
        img[shape_mask(o.shape, cx, cy, SIZES[o.size])] = COLORS[o.color]
    scene.meta["centers"] = centers
    return img
