#!/usr/bin/env bash
# bench/console/run in its smoke mode (10,000 records): every console read
# it times answers, and the table and the JSON are written. The times are
# never checked here: they belong to the full run.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="$1"
out="$build/console-smoke"
rm -rf "$out"
"$root/bench/console/run" --smoke --build "$build" --out "$out"
python3 - "$out/console.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
assert report["rows"] == 10000 and len(report["calls"]) == 8, report
PY
echo "bench/console/run --smoke timed every console read"
