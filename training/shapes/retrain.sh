#!/usr/bin/env bash
# Retrains the embedded default model (models/shapes-md) from scratch on this machine's CPU, with the settings
# the shipped model was trained with. Checkpoints and the latent cache go to $MDD_TRAIN_DIR (default
# ~/mdd-train, outside git); every stage resumes where it stopped when rerun. Needs the Python environment of
# training/fixtures/requirements.txt ($PYTHON, default ~/fxenv/bin/python). To train longer, rerun with larger
# *_STEPS (the cosine schedule stretches to the new end); after extending stage 2, remove $MDD_TRAIN_DIR/distill
# so that stage 3 starts again from the new teacher.
#
#   bash training/shapes/retrain.sh            then   bash training/shapes/evaluate.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-$HOME/fxenv/bin/python}
export PYTHONPATH=.
T=${MDD_TRAIN_DIR:-$HOME/mdd-train}

$PY -m shapes.selfcheck 600 > /dev/null                        # the analyser reads ground truth back first
$PY -m shapes.train_vae --steps "${VAE_STEPS:-900}"           # stage 1: VAE, 8-channel 16x16 latents
$PY -m shapes.train_decoder --steps "${DECODER_STEPS:-1600}"  # stage 1b: decoder alone, sharper small shapes
# stage 1b, second round: fresh scenes, small objects' pixels weighted 3x more (2 threads, ~13 min)
$PY -m shapes.train_decoder --init final-decoder --name vae-decoder2 --out final-decoder2 --seed 12 --small-weight 3 \
    --threads 2 --lr 2e-4 --steps "${DECODER2_STEPS:-1200}"
# stage 1b, third round: the shipped decoder (fresh scenes again; ~8 min)
$PY -m shapes.train_decoder --init final-decoder2 --name vae-decoder3 --out final-decoder3 --seed 13 --small-weight 3 \
    --threads 2 --lr 2e-4 --steps "${DECODER3_STEPS:-800}"
[ -f "$T/latents-2.pt" ] || $PY -m shapes.latents --count "${LATENTS:-32000}"
$PY -m shapes.train_text --steps "${TEXT_STEPS:-1500}"                    # stage 2a: text encoder on the prompts' attributes
# stage 2: diffusion pre-training of the UNet on the frozen text encoder (the teacher). 29,000 x 48 is about the
# 1.39 M images the teacher unet-pos7r saw over its runs (model card; the current teacher ≈ 1.55 M); about 9 hours on 2 cores.
$PY -m shapes.train_unet --steps "${UNET_STEPS:-29000}" --batch 48 --text-encoder text --fg-weight 8 --high-t 0.3
# stage 3: DiffusionGAN one-step fine-tuning, with the distillation term on the teacher's own 25-step samples
# (guidance 1.5: the teacher's best measured setting, model card): pairs of the cache's own prompt mix, and as many
# again of count and relation prompts only (the kinds where one step lagged the teacher most), then a cosine
# learning rate to 0 at GAN_STEPS
$PY -m shapes.teacher_pairs --teacher unet --count "${PAIRS:-3000}" --guidance 1.5
$PY -m shapes.teacher_pairs --teacher unet --name unet-cr --count "${PAIRS:-3000}" --guidance 1.5 --kind-weights single=0,count=2,relation=1
$PY -m shapes.train_gan --steps "${GAN_STEPS:-400}" --batch 8 --pairs unet,unet-cr --pair-batch 24 --distill 2 --p-final 0 --lr 1e-4 \
    --lr-decay cosine --fg-weight 8
$PY -m shapes.export --out "$T/teacher" --checkpoint unet --vae final-decoder3  # the multi-step teacher, for evaluation
$PY -m shapes.export --out ../models/shapes-md --checkpoint distill --vae final-decoder3
$PY -m shapes.make_parity_fixture --model ../models/shapes-md  # the Swift parity test's reference renders
