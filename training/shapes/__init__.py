"""The "shapes" domain of the embedded default model: a prompt grammar with exact ground truth, a renderer, and
ShapesEval, which reads objects back from an image alone. Pure numpy; deterministic given a seed."""
