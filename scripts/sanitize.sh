#!/usr/bin/env bash
# Runs the Queue and Daemon tests under ThreadSanitizer and AddressSanitizer, each in its own scratch path
# (.build-tsan, .build-asan) so the normal .build stays untouched. scripts/sanitize.sh [thread|address]...
# Not in .ci/run: each pass rebuilds the whole package instrumented (tens of minutes on 2 cores).
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
for s in "${@:-thread address}"; do
  for s1 in $s; do
    case $s1 in thread) scratch=.build-tsan ;; address) scratch=.build-asan ;; *) echo "unknown sanitizer $s1" >&2; exit 2 ;; esac
    echo "== $s1 ($scratch)"
    # The Swift backtracer hangs on a process a sanitizer is aborting; the sanitizer's own report is what we want.
    if SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 TSAN_OPTIONS=halt_on_error=0 \
       swift test --sanitize="$s1" --scratch-path "$scratch" --filter 'QueueTests|DaemonTests' 2>&1 | tee "$scratch.log" | grep -E "WARNING: ThreadSanitizer|ERROR: AddressSanitizer|SUMMARY|Executed .* tests|error:" ; then :; fi
    rc=${PIPESTATUS[0]}
    echo "== $s1: exit $rc (full log: $scratch.log)"
    [ "$rc" = 0 ] || status=1
  done
done
exit $status
