#!/usr/bin/env bash
# Daemon throughput end to end (queue → render → PNG → commit): starts `mdd serve` on a fresh state folder,
# submits N jobs (the 16 sample prompts repeated with distinct seeds, as batch variations are), waits for them,
# and prints images/s from the first claim to the last completion (read from the queue database afterwards:
# `mdctl wait` polls once a second, too coarse for a 10 s run), for each workers x BLAS-threads setting.
#
#   benchmarks/daemon_throughput.sh [N=400] [MODEL=models/shapes-md] ["1:0 2:1"]   (workers:blas_threads; 0 = default)
#   STATS=1 also prints `mdctl stats` (per-stage latency percentiles) for each setting.
#   PRECISION=auto|fp32|bf16 passes --precision to `mdd serve` (default: serve's own default, auto).
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
    [ -n "${PRECISION:-}" ] && EXTRA+=(--precision "$PRECISION")
    "$BIN/mdd" serve --state-dir "$DIR/state" --socket "$DIR/s.sock" --model "$MODEL" "${EXTRA[@]}" > "$DIR/log" 2>&1 &
    PID=$!
    for _ in $(seq 1 300); do "$BIN/mdctl" --socket "$DIR/s.sock" health >/dev/null 2>&1 && break; sleep 0.1; done
    "$BIN/mdctl" --socket "$DIR/s.sock" pause >/dev/null
    for i in $(seq 1 $(( (N + 15) / 16 ))); do cat "$ROOT/examples/sample-batch.txt"; done | head -n "$N" > "$DIR/prompts.txt"
    "$BIN/mdctl" --socket "$DIR/s.sock" submit -f "$DIR/prompts.txt" --batch t --seed 1 >/dev/null
    "$BIN/mdctl" --socket "$DIR/s.sock" resume >/dev/null
    "$BIN/mdctl" --socket "$DIR/s.sock" wait --batch t --quiet --timeout 3600
    [ -n "${STATS:-}" ] && "$BIN/mdctl" --socket "$DIR/s.sock" stats --batch t
    kill -TERM $PID; wait $PID || true
    P=$(grep -o 'precision=[a-z0-9]*' "$DIR/log" | head -1 || true)
    python3 - "$DIR/state/queue.sqlite" "$W" "$T" "${P:-precision=?}" <<'PY'
import sqlite3, sys
db, w, t, p = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
n, first, last = sqlite3.connect(db).execute(
    "SELECT count(*), min(claimed_at), max(finished_at) FROM jobs WHERE state = 'succeeded'").fetchone()
print(f"workers={w} blas_threads={'default' if t == '0' else t} {p}: {n} images in {last - first:.2f} s = {n / (last - first):.1f} images/s")
PY
    rm -rf "$DIR"
done
