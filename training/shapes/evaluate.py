"""ShapesEval: finds the objects in an image alone (colour, shape, size, position) and scores prompts' scenes.

Analyser: the background is the most common border colour; other pixels take the nearest palette colour (or are
ignored when nearer the background); 4-connected components of one colour above MIN_AREA pixels are objects.
Shape from the fill ratio of the bounding box (square ≈ 0.81–1, circle ≈ 0.785, triangle ≈ 0.5) and the
vertical balance of mass (a triangle's mass sits low); position from the centroid's 3x3 cell; size from the
equivalent radius.
"""
from collections import Counter, deque

import numpy as np

from .grammar import COLORS, POSITIONS, SIZES

MIN_AREA = 20
PALETTE = np.array(list(COLORS.values()), dtype=np.float32)
NAMES = list(COLORS)


def background_color(img):
    border = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]])
    return np.array(Counter(map(tuple, border)).most_common(1)[0][0], dtype=np.float32)


def components(mask):
    """4-connected components of a boolean mask as lists of (y, x)."""
    seen = np.zeros_like(mask, dtype=bool)
    out = []
    h, w = mask.shape
    for y0, x0 in zip(*np.nonzero(mask)):
        if seen[y0, x0]:
            continue
        comp, q = [], deque([(y0, x0)])
        seen[y0, x0] = True
        while q:
            y, x = q.popleft()
            comp.append((y, x))
            for ny, nx in ((y + 1, x), (y - 1, x), (y, x + 1), (y, x - 1)):
                if 0 <= ny < h and 0 <= nx < w and mask[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    q.append((ny, nx))
        out.append(comp)
    return out


def classify_shape(ys, xs):
    h, w = ys.max() - ys.min() + 1, xs.max() - xs.min() + 1
    fill = len(ys) / float(h * w)
    # Mass balance: a triangle (apex up) holds ~2/3 of its area in the lower half.
    lower = np.mean(ys > (ys.min() + ys.max()) / 2.0)
    if fill > 0.88:
        return "square"
    if fill < 0.66 or lower > 0.62:
        return "triangle"
    return "circle"


def analyse(img):
    """Objects found in an RGB uint8 image: dicts with color, shape, size, cx, cy, cell, area."""
    img = img.astype(np.float32)
    bg = background_color(img)
    d_bg = np.linalg.norm(img - bg, axis=-1)
    d_pal = np.linalg.norm(img[:, :, None, :] - PALETTE[None, None], axis=-1)
    # A palette colour close to the background cannot be an object colour (the grammar never draws an object in
    # the background's colour): black (20,20,20) on a black (0,0,0) background is 35 apart, and soft dark edges
    # of generated objects would otherwise read as "black" ghost objects.
    d_pal[:, :, np.linalg.norm(PALETTE - bg, axis=-1) < 40] = np.inf
    label = d_pal.argmin(-1)
    is_obj = d_pal.min(-1) < d_bg
    objects = []
    for k, name in enumerate(NAMES):
        for comp in components(is_obj & (label == k)):
            if len(comp) < MIN_AREA:
                continue
            ys, xs = np.array([p[0] for p in comp]), np.array([p[1] for p in comp])
            cx, cy = xs.mean() + 0.5, ys.mean() + 0.5
            radius = np.sqrt(len(comp))  # ~ proportional to the half-extent
            size = min(SIZES, key=lambda s: abs(SIZES[s] * 1.7 - radius))
            cell = (min(2, int(cx * 3 // img.shape[1])), min(2, int(cy * 3 // img.shape[0])))
            objects.append(dict(color=name, shape=classify_shape(ys, xs), size=size, cx=cx, cy=cy, cell=cell, area=len(comp)))
    return objects


def score(scene, objects):
    """Per-scene verdicts. single: colour+shape (the largest object), and position if the prompt names one.
    count: the number of objects of the named colour and shape. relation: both objects and their relation."""
    if scene.kind == "single":
        o = scene.objects[0]
        if not objects:
            return {"color_shape": False, "position": False, "cell": False} if scene.position_named else {"color_shape": False}
        top = max(objects, key=lambda x: x["area"])
        cs = top["color"] == o.color and top["shape"] == o.shape
        # Position is scored only where the prompt names one (else "center" is a default, not an instruction).
        # "cell" (the largest object in the named cell, whatever it is) tells placement apart from colour and shape.
        if not scene.position_named:
            return {"color_shape": cs}
        return {"color_shape": cs, "position": cs and top["cell"] == o.cell, "cell": top["cell"] == o.cell}
    if scene.kind == "count":
        o = scene.objects[0]
        n = sum(1 for x in objects if x["color"] == o.color and x["shape"] == o.shape)
        return {"count": n == scene.count, "color_shape": n > 0}
    a, b = scene.objects
    fa = [x for x in objects if x["color"] == a.color and x["shape"] == a.shape]
    fb = [x for x in objects if x["color"] == b.color and x["shape"] == b.shape]
    if not fa or not fb:
        return {"relation": False, "color_shape": False}
    pa, pb = max(fa, key=lambda x: x["area"]), max(fb, key=lambda x: x["area"])
    dx, dy = pa["cx"] - pb["cx"], pa["cy"] - pb["cy"]
    ok = {"left": dx < -8 and abs(dx) > abs(dy), "right": dx > 8 and abs(dx) > abs(dy),
          "above": dy < -8 and abs(dy) > abs(dx), "below": dy > 8 and abs(dy) > abs(dx)}[scene.relation]
    return {"relation": ok, "color_shape": True}


def summarize(results):
    """results: list of (scene, verdict) → {kind: {"n": scenes, metric: accuracy, "n_<metric>": scenes scored}}."""
    hits, counts = {}, {}
    for scene, verdict in results:
        h, c = hits.setdefault(scene.kind, {}), counts.setdefault(scene.kind, {})
        c["n"] = c.get("n", 0) + 1
        for k, v in verdict.items():
            h[k] = h.get(k, 0) + int(v)
            c[k] = c.get(k, 0) + 1
    out = {}
    for kind, c in counts.items():
        row = {"n": c["n"]}
        for k, v in hits[kind].items():
            row[k] = v / c[k]
            if c[k] != c["n"]:
                row["n_" + k] = c[k]
        out[kind] = row
    return out
