#!/usr/bin/env bash
# Soak: pushes N jobs through `mdd serve` (release build, the default model) and samples the daemon's RSS, threads,
# open descriptors (/proc/PID/status, /proc/PID/fd) and the queue database's size (with -wal) every INTERVAL s
# into a CSV; at the end prints whether RSS, threads and FDs stayed within 5 % of their value after warm-up
# (the first WARMUP % of the jobs done).
#
#   benchmarks/soak.sh [N=100000] [MODEL=models/shapes-md]      INTERVAL=5 WARMUP=10 OUT=soak.csv
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
N=${1:-100000}
MODEL=${2:-$ROOT/models/shapes-md}
INTERVAL=${INTERVAL:-5}; WARMUP=${WARMUP:-10}; OUT=${OUT:-$PWD/soak.csv}
BIN="$ROOT/.build/release"
swift build -c release --product mdd >/dev/null && swift build -c release --product mdctl >/dev/null
DIR=$(mktemp -d /tmp/mdd-soak.XXXXXX)
"$BIN/mdd" serve --state-dir "$DIR/state" --socket "$DIR/s.sock" --model "$MODEL" > "$DIR/log" 2>&1 &
PID=$!
trap 'kill -TERM $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DIR"' EXIT
for _ in $(seq 1 300); do "$BIN/mdctl" --socket "$DIR/s.sock" health >/dev/null 2>&1 && break; sleep 0.1; done
for i in $(seq 1 $(( (N + 15) / 16 ))); do cat "$ROOT/examples/sample-batch.txt"; done | head -n "$N" > "$DIR/prompts.txt"
"$BIN/mdctl" --socket "$DIR/s.sock" submit -f "$DIR/prompts.txt" --batch soak --seed 1 >/dev/null
echo "seconds,done,rss_kb,threads,fds,db_bytes" > "$OUT"
START=$(date +%s)
while kill -0 $PID 2>/dev/null; do
    DONE=$(python3 -c "import sqlite3,sys; print(sqlite3.connect('file:$DIR/state/queue.sqlite?mode=ro', uri=True).execute(\"SELECT count(*) FROM jobs WHERE state IN ('succeeded','failed')\").fetchone()[0])" 2>/dev/null || echo 0)
    RSS=$(awk '/^VmRSS/ {print $2}' /proc/$PID/status); THREADS=$(awk '/^Threads/ {print $2}' /proc/$PID/status)
    FDS=$(ls /proc/$PID/fd | wc -l); DB=$(cat "$DIR"/state/queue.sqlite* 2>/dev/null | wc -c)
    echo "$(( $(date +%s) - START )),$DONE,$RSS,$THREADS,$FDS,$DB" >> "$OUT"
    [ "$DONE" -ge "$N" ] && break
    sleep "$INTERVAL"
done
python3 - "$OUT" "$N" "$WARMUP" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1]))); n, warm = int(sys.argv[2]), float(sys.argv[3]) / 100
after = [r for r in rows if int(r["done"]) >= warm * n] or rows[-1:]
secs = int(rows[-1]["seconds"]) or 1
print(f"{rows[-1]['done']} of {n} jobs in {secs} s ({int(rows[-1]['done']) / secs:.1f} jobs/s), {len(rows)} samples, {len(after)} after warm-up")
ok = True
for k in ("rss_kb", "threads", "fds"):
    v = [int(r[k]) for r in after]; base = v[0]; top = max(v); low = min(v)
    half = v[len(v) // 2:] or v
    if k == "rss_kb":
        flat = top <= base * 1.05 and low >= base * 0.95
        verdict = "flat within 5 %" if flat else "NOT flat"
    else:
        # Small counts: one transient thread (Dispatch's pool) or descriptor (a client) is more than 5 % of ~10. A leak
        # keeps climbing, so: within 5 % or 2 of the warm-up value, and no new high in the second half of the run.
        flat = top <= max(base * 1.05, base + 2) and max(half) <= max(v[:len(v) // 2] or v)
        verdict = "bounded (within 5 % or 2, no new high in the second half)" if flat else "NOT bounded"
    ok &= flat
    print(f"{k}: after warm-up {base}, min {low}, max {top}, second half max {max(half)} -> {verdict}")
print(f"db_bytes: {rows[0]['db_bytes']} -> {rows[-1]['db_bytes']}")
sys.exit(0 if ok else 1)
PY
