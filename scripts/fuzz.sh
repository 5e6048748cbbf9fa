#!/usr/bin/env bash
# Runs one libFuzzer target for SECONDS over its committed corpus: scripts/fuzz.sh TARGET [SECONDS=300] [extra libFuzzer flags]
# TARGET: frame request prompt safetensors config tokenizer png. New inputs go to fuzz/out/TARGET (not committed);
# copy interesting ones to fuzz/corpus/<corpus>/found-* so that the test suite replays them. Crashes land in fuzz/out/.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
target=${1:?usage: scripts/fuzz.sh TARGET [SECONDS]}; seconds=${2:-300}; shift $(( $# > 1 ? 2 : 1 ))
swift build -c debug -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library --product "fuzz-$target" 1>&2
bin=$(swift build -c debug -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library --show-bin-path)/fuzz-$target
case $target in prompt) seeds="corpus/prompt-txt corpus/prompt-jsonl corpus/prompt-csv" ;; *) seeds="corpus/$target" ;; esac
mkdir -p "out/$target"
# Swift's crash backtracer waits on the dying process and libFuzzer never reports: turn it off.
# detect_leaks=0: Foundation's caches look like leaks to LeakSanitizer.
SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 \
  "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -max_len=65536 -artifact_prefix="out/$target/" \
  "$@" "out/$target" $seeds
