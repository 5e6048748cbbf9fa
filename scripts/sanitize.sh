#!/usr/bin/env bash
# Runs the Queue and Daemon tests under ThreadSanitizer and AddressSanitizer, each in its own scratch path
# (.build-tsan, .build-asan) so the normal .build stays untouched. scripts/sanitize.sh [thread|address]...
# FILTER overrides the test filter (default 'QueueTests|DaemonTests'), e.g. FILTER='DaemonTests.(FleetTests|DiskFullTests)'.
# Not in .ci/run: each pass rebuilds the whole package instrumented (tens of minutes on 2 cores).
set -uo pipefail
cd "$(dirname "$0")/.."
filter=${FILTER:-QueueTests|DaemonTests}
status=0
for s in "${@:-thread address}"; do
  for s1 in $s; do
    case $s1 in thread) scratch=.build-tsan ;; address) scratch=.build-asan ;; *) echo "unknown sanitizer $s1" >&2; exit 2 ;; esac
    echo "== $s1 ($scratch)"
    # Reports go to files, one per process: the daemon tests run the instrumented `mdd` as a subprocess whose
    # stderr is the test's log file, where a report would otherwise go unseen.
    reports="$PWD/$scratch.reports"
    rm -rf "$reports"; mkdir -p "$reports"
    # The Swift backtracer hangs on a process a sanitizer is aborting; the sanitizer's own report is what we want.
    # MDD_TEST_SLOWDOWN: tests whose limits are about a render's duration scale them (instrumented code is slower).
    if MDD_TEST_SLOWDOWN=${MDD_TEST_SLOWDOWN:-4} SWIFT_BACKTRACE=enable=no ASAN_OPTIONS="detect_leaks=0 log_path=$reports/r" TSAN_OPTIONS="halt_on_error=0 log_path=$reports/r" \
       swift test --sanitize="$s1" --scratch-path "$scratch" --filter "$filter" 2>&1 | tee "$scratch.log" | grep -E "Executed .* tests|error:" ; then :; fi
    rc=${PIPESTATUS[0]}
    n=$(find "$reports" -type f | wc -l)
    echo "== $s1: exit $rc, $n report file(s) in $reports (full log: $scratch.log)"
    [ "$n" = 0 ] || grep -h -E "WARNING: ThreadSanitizer|ERROR: AddressSanitizer|SUMMARY" "$reports"/* | sort | uniq -c
    [ "$rc" = 0 ] && [ "$n" = 0 ] || status=1
  done
done
exit $status
