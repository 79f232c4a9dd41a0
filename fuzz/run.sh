#!/usr/bin/env bash
# Runs one fuzz target: replays its seed corpus (fuzz/corpus/<target>/, regressions included),
# then fuzzes for <seconds>. New inputs go to <work>/corpus/<target>/ (kept between runs, never
# into the repository), crashes to <work>/artifacts/<target>/. Exit status: libFuzzer's (non-zero
# on a crash, a leak, a timeout or an out-of-memory).
# Usage: fuzz/run.sh <fuzz binary> <seconds> <work folder> [extra libFuzzer flags...]
set -euo pipefail
bin=$1 seconds=$2 work=$3
shift 3
name=$(basename "$bin")
src=$(cd "$(dirname "$0")" && pwd)
seeds=$src/corpus/${name%_fuzz}
mkdir -p "$work/corpus/$name" "$work/artifacts/$name" "$work/logs"
dict=()
[ -f "$src/dict/${name%_fuzz}.dict" ] && dict=(-dict="$src/dict/${name%_fuzz}.dict")
log=$work/logs/$name.log
set +e
# The fuzzers' own options come after the caller's (the last of an option wins): make test runs
# them beside the unit tests under the unit tests' ASAN_OPTIONS, which leave
# detect_stack_use_after_return off.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1 \
UBSAN_OPTIONS=${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1:halt_on_error=1 \
  "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
  -artifact_prefix="$work/artifacts/$name/" "${dict[@]}" "$@" \
  "$work/corpus/$name" "$seeds" 2>&1 | tee "$log" | grep -E '^(INFO: seed|#[0-9]+ *(INITED|DONE)|==|SUMMARY|stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)|.*invariant failed|.*ERROR|artifact_prefix|Test unit written)'
rc=${PIPESTATUS[0]}
exit "$rc"
