#!/usr/bin/env bash
# Daemon throughput end to end (queue → render → PNG → commit): starts `mdd serve` on a fresh state folder,
# submits N jobs (the 16 sample prompts repeated with distinct seeds, as batch variations are), waits for them,
# and prints images/s from the first claim to the last completion, for each workers x BLAS-threads setting.
#
#   benchmarks/daemon_throughput.sh [N=400] [MODEL=models/shapes-md] ["1:0 2:1"]   (workers:blas_threads; 0 = default)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
N=${1:-400}
MODEL=${2:-$ROOT/models/shapes-md}
SETTINGS=${3:-"1:0 2:1"}
BIN="$ROOT/.build/release"
swift build -c release --product mdd >/dev/null && swift build -c release --product mdctl >/dev/null
for s in $SETTINGS; do
    W=${s%%:*} T=${s##*:}
    DIR=$(mktemp -d /tmp/mdd-throughput.XXXXXX)
    EXTRA=(--workers "$W")
    [ "$T" != 0 ] && EXTRA+=(--blas-threads "$T")
    "$BIN/mdd" serve --state-dir "$DIR/state" --socket "$DIR/s.sock" --model "$MODEL" "${EXTRA[@]}" > "$DIR/log" 2>&1 &
    PID=$!
    for _ in $(seq 1 300); do "$BIN/mdctl" --socket "$DIR/s.sock" health >/dev/null 2>&1 && break; sleep 0.1; done
    "$BIN/mdctl" --socket "$DIR/s.sock" pause >/dev/null
    for i in $(seq 1 $(( (N + 15) / 16 ))); do cat "$ROOT/examples/sample-batch.txt"; done | head -n "$N" > "$DIR/prompts.txt"
    "$BIN/mdctl" --socket "$DIR/s.sock" submit -f "$DIR/prompts.txt" --batch t --seed 1 >/dev/null
    START=$(date +%s.%N)
    "$BIN/mdctl" --socket "$DIR/s.sock" resume >/dev/null
    "$BIN/mdctl" --socket "$DIR/s.sock" wait --batch t --quiet --timeout 3600
    END=$(date +%s.%N)
    kill -TERM $PID; wait $PID || true
    python3 -c "print(f'workers={$W} blas_threads={\"default\" if $T == 0 else $T}: $N images in {$END - $START:.2f} s = {$N / ($END - $START):.1f} images/s')"
    rm -rf "$DIR"
done
