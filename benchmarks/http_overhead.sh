#!/usr/bin/env bash
# Cost of the HTTP listener to rendering: images/s of `mdd serve` without --http, and with --http while a scraper
# reads /metrics every second and a browser-like client loads / and /batches/t with its thumbnails every 5 s (the
# pages' refresh). Runs alternate (off, on, off, on, ...) so that drift of the machine hits both alike; images/s is
# read from the queue afterwards (first claim to last completion), as in daemon_throughput.sh.
#
#   benchmarks/http_overhead.sh [N=2000] [MODEL=models/shapes-md] [ROUNDS=2]    (BIN=.build/debug to skip a release build)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
N=${1:-2000}
MODEL=${2:-$ROOT/models/shapes-md}
ROUNDS=${3:-2}
BIN=${BIN:-$ROOT/.build/release}
if [ "$BIN" = "$ROOT/.build/release" ]; then swift build -c release --product mdd >/dev/null && swift build -c release --product mdctl >/dev/null; fi

# Loads the pages until the daemon exits: what an open browser tab and a Prometheus scraper do.
visit() {
    local url=$1 pid=$2 i=0
    while kill -0 "$pid" 2>/dev/null; do
        curl -s -o /dev/null "$url/metrics" || true
        if [ $((i % 5)) = 0 ]; then
            curl -s -o /dev/null "$url/" || true
            for t in $(curl -s "$url/batches/t" | grep -o '/thumbs/[0-9]*\.png'); do curl -s -o /dev/null "$url$t" || true; done
        fi
        i=$((i + 1))
        sleep 1
    done
}

run() {
    local mode=$1 dir pid url
    dir=$(mktemp -d /tmp/mdd-http-overhead.XXXXXX)
    local extra=()
    [ "$mode" = on ] && extra=(--http 127.0.0.1:0)
    "$BIN/mdd" serve --state-dir "$dir/state" --socket "$dir/s.sock" --model "$MODEL" --workers 2 --blas-threads 1 "${extra[@]}" > "$dir/log" 2>&1 &
    pid=$!
    for _ in $(seq 1 300); do "$BIN/mdctl" --socket "$dir/s.sock" health >/dev/null 2>&1 && break; sleep 0.1; done
    "$BIN/mdctl" --socket "$dir/s.sock" pause >/dev/null
    for _ in $(seq 1 $(( (N + 15) / 16 ))); do cat "$ROOT/examples/sample-batch.txt"; done | head -n "$N" > "$dir/prompts.txt"
    "$BIN/mdctl" --socket "$dir/s.sock" submit -f "$dir/prompts.txt" --batch t --seed 1 >/dev/null
    if [ "$mode" = on ]; then
        url="http://$(grep -ao 'http listening on [0-9.:]*' "$dir/log" | awk '{print $4}')"
        visit "$url" "$pid" &
    fi
    "$BIN/mdctl" --socket "$dir/s.sock" resume >/dev/null
    "$BIN/mdctl" --socket "$dir/s.sock" wait --batch t --quiet --timeout 3600
    kill -TERM "$pid"; wait "$pid" || true
    wait || true  # the visitor stops with the daemon
    python3 - "$dir/state/queue.sqlite" "$mode" <<'PY'
import sqlite3, sys
n, first, last = sqlite3.connect(sys.argv[1]).execute(
    "SELECT count(*), min(claimed_at), max(finished_at) FROM jobs WHERE state = 'succeeded'").fetchone()
print(f"http={sys.argv[2]}: {n} images in {last - first:.2f} s = {n / (last - first):.2f} images/s")
PY
    rm -rf "$dir"
}

for _ in $(seq 1 "$ROUNDS"); do run off; run on; done
