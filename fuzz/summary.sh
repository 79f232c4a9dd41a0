#!/usr/bin/env bash
# Prints one line per fuzz target from the logs of its last run (fuzz/run.sh): executions,
# executions per second, inputs added to the corpus, peak RSS, and whether it found anything.
# Usage: fuzz/summary.sh <work folder>
set -euo pipefail
work=$1
printf '%-22s %12s %9s %9s %8s %10s  %s\n' target executions exec/s new_units rss_mb corpus result
for log in "$work"/logs/*.log; do
  [ -e "$log" ] || continue
  name=$(basename "$log" .log)
  stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
  corpus=$(find "$work/corpus/$name" -type f 2>/dev/null | wc -l)
  result=ok
  grep -qE '^SUMMARY: |invariant failed|ERROR: libFuzzer' "$log" && result="FOUND: $(grep -m1 -oE 'Test unit written to [^ ]+' "$log" | sed 's/.* //' || true) ($log)"
  printf '%-22s %12s %9s %9s %8s %10s  %s\n' "$name" "$(stat number_of_executed_units)" \
    "$(stat average_exec_per_sec)" "$(stat new_units_added)" "$(stat peak_rss_mb)" "$corpus" "$result"
done
