#!/usr/bin/env bash
# Sets everything up and runs the main job: builds mdd and mdctl (release), starts the daemon on the default
# model, submits the sample batch in examples/, shows progress and stats, and says where the PNGs are.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_packages "${PACKAGES[@]}"
ensure_swift
echo "==> swift build -c release"
swift build -c release --product mdd >/dev/null
swift build -c release --product mdctl >/dev/null
BIN="$ROOT/.build/release"
DEMO="${MDD_DEMO_DIR:-/tmp/mdd-demo}"
# A fresh queue each run: an old one would answer the resubmitted sample batch with "16 duplicates" and show the
# images (and latencies) of whatever model rendered them last time.
rm -rf "$DEMO/state"
mkdir -p "$DEMO"
SOCK="$DEMO/mdd.sock"
[ -f "$ROOT/models/shapes-md/model_index.json" ] || { echo "models/shapes-md is missing: the embedded default model ships with the repository" >&2; exit 1; }
echo "==> model: the embedded default, models/shapes-md (see its README.md for what it can and cannot draw yet)"
# The daemon measures how to split the cores into workers x BLAS threads at start-up (--workers auto, the
# default; about 2 s here) and logs its choice.
"$BIN/mdd" serve --state-dir "$DEMO/state" --socket "$SOCK" >"$DEMO/mdd.log" 2>&1 &
PID=$!
trap 'kill -TERM $PID 2>/dev/null || true; wait $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do "$BIN/mdctl" --socket "$SOCK" health >/dev/null 2>&1 && break; sleep 0.1; done
"$BIN/mdctl" --socket "$SOCK" health
grep -o "workers auto: .*" "$DEMO/mdd.log" | head -1 || true
echo "==> submitting examples/sample-batch.txt"
"$BIN/mdctl" --socket "$SOCK" submit -f examples/sample-batch.txt --batch sample --seed 1000 --wait
echo "==> status"
"$BIN/mdctl" --socket "$SOCK" status
echo "==> stats"
"$BIN/mdctl" --socket "$SOCK" stats
"$BIN/mdctl" --socket "$SOCK" export --batch sample --format csv -o "$DEMO/manifest.csv"
echo
echo "PNGs:      $DEMO/state/outputs/sample/  ($(ls "$DEMO/state/outputs/sample" | wc -l) files)"
echo "manifest:  $DEMO/manifest.csv"
echo "daemon log: $DEMO/mdd.log"
