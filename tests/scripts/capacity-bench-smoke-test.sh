#!/usr/bin/env bash
# bench/capacity/run in its smoke mode: both runs (without and with the
# queue) start, answer every request, and write the table, the JSON and the
# plot. Waits are never checked here: they belong to the full run.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="$1"
out="$build/capacity-smoke"
rm -rf "$out"
"$root/bench/capacity/run" --smoke --build "$build" --out "$out"
fail() { echo "capacity bench smoke: $1"; cat "$out/capacity-smoke.md" 2>/dev/null || true; exit 1; }
for file in capacity-smoke.md capacity-smoke.json; do test -s "$out/$file" || fail "no $file"; done
head -c 8 "$out/capacity-smoke.png" 2>/dev/null | od -An -c | grep -q 'P   N   G' || fail "the plot is not a PNG"
python3 - "$out/capacity-smoke.json" <<'PY' || fail "a run lost or refused requests"
import json, sys
results = json.load(open(sys.argv[1]))
for run in ("without", "with"):
    r = results[run]
    assert r["interactive_ok"] > 0 and r["interactive_errors"] == 0 and r["batch_ok"] > 0, (run, r)
PY
echo "bench/capacity/run --smoke produced both runs, the table and the plot"
