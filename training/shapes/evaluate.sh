#!/usr/bin/env bash
# ShapesEval of the embedded default model, rendered by the Swift engine: the shipped one-step model, the
# one-step pre-trained UNet (before DiffusionGAN) and the 25-step DDIM teacher with guidance, on the same 600
# prompts (100 per split x kind). Tables go to stdout; images, results.json and contact sheets to $OUT.
#
#   bash training/shapes/evaluate.sh            (after retrain.sh; needs swift and the Python environment)
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-$HOME/fxenv/bin/python}
T=${MDD_TRAIN_DIR:-$HOME/mdd-train}
OUT=${OUT:-$T/eval}
swift build -c release --product mdd > /dev/null
cd training
export PYTHONPATH=.
$PY -m shapes.evaluate_model --model ../models/shapes-md --out "$OUT/one-step"
[ -d "$T/teacher" ] || exit 0
$PY -m shapes.evaluate_model --model "$T/teacher" --out "$OUT/teacher-one-step"
$PY -m shapes.evaluate_model --model "$T/teacher" --steps 25 --guidance "${TEACHER_GUIDANCE:-1.5}" --out "$OUT/teacher-25-step"
