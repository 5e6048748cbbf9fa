#!/usr/bin/env bash
# CPU time the daemon spends per HTTP request, read from /proc/PID/stat (utime + stime) around R sequential
# requests of each kind against an idle daemon holding a finished batch of N images. Unlike images/s side by side,
# this holds on a machine shared with other work; multiply by the request rate for the load's share of the cores
# (a scraper at 1/s plus an open page refreshing every 5 s).
#
#   benchmarks/http_request_cost.sh [N=400] [MODEL=models/shapes-md] [R=200]    (BIN=.build/debug to skip a release build)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
N=${1:-400}
MODEL=${2:-$ROOT/models/shapes-md}
R=${3:-200}
BIN=${BIN:-$ROOT/.build/release}
if [ "$BIN" = "$ROOT/.build/release" ]; then swift build -c release --product mdd >/dev/null && swift build -c release --product mdctl >/dev/null; fi
DIR=$(mktemp -d /tmp/mdd-http-cost.XXXXXX)
"$BIN/mdd" serve --state-dir "$DIR/state" --socket "$DIR/s.sock" --model "$MODEL" --workers 1 --http 127.0.0.1:0 > "$DIR/log" 2>&1 &
PID=$!
trap 'kill -TERM $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DIR"' EXIT
for _ in $(seq 1 300); do "$BIN/mdctl" --socket "$DIR/s.sock" health >/dev/null 2>&1 && break; sleep 0.1; done
for _ in $(seq 1 $(( (N + 15) / 16 ))); do cat "$ROOT/examples/sample-batch.txt"; done | head -n "$N" > "$DIR/prompts.txt"
"$BIN/mdctl" --socket "$DIR/s.sock" submit -f "$DIR/prompts.txt" --batch t --seed 1 >/dev/null
"$BIN/mdctl" --socket "$DIR/s.sock" wait --batch t --quiet --timeout 3600
URL="http://$(grep -ao 'http listening on [0-9.:]*' "$DIR/log" | awk '{print $4}')"
THUMB=$(curl -s "$URL/batches/t" | grep -o '/thumbs/[0-9]*\.png' | head -1)
ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
HZ=$(getconf CLK_TCK)
for path in /metrics / /batches/t "$THUMB" /api/status /batches/t/contact-sheet.png; do
    curl -sf -o /dev/null "$URL$path"  # warm: thumbnails made, caches filled (and the request succeeds)
    before=$(ticks)
    for _ in $(seq 1 "$R"); do curl -sf -o /dev/null "$URL$path"; done
    after=$(ticks)
    python3 -c "print(f'{\"$path\":32s} {($after - $before) / $HZ / $R * 1000:7.2f} ms CPU per request ($R requests)')"
done
