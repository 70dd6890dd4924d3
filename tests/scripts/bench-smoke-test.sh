#!/usr/bin/env bash
# bench/run in its smoke mode: every system starts and answers, every figure
# is produced, the table and both plots are written. Timings are never
# checked here: they belong to the benchmark's own full run.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="$1"
out="$build/bench-smoke"
rm -rf "$out"
"$root/bench/run" --smoke --build "$build" --out "$out"
fail() { echo "bench smoke: $1"; cat "$out/latest.md" 2>/dev/null || true; exit 1; }
for file in latest.md latest.json; do test -s "$out/$file" || fail "no $file"; done
for plot in latency-p50.png latency-p99.png; do
  head -c 8 "$out/$plot" 2>/dev/null | od -An -c | grep -q 'P   N   G' || fail "$plot is not a PNG"
done
# Each system has a row with a number in every table, and no figure is blank.
for system in direct nginx sluice-min sluice-full portkey; do
  rows=$(grep -c "^| $system | [0-9]" "$out/latest.md" || true)
  [[ "$rows" -eq 7 ]] || fail "$system has $rows of 7 table rows with figures"
done
! grep -q '| — ' "$out/latest.md" || fail "a figure is missing"
echo "bench/run --smoke produced every figure and both plots"
