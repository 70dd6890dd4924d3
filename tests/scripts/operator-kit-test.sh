#!/usr/bin/env bash
# contrib/: the Prometheus alert rules load (`promtool check rules`) and fire
# as their tests say (`promtool test rules`); the Grafana dashboard is valid
# JSON whose every query names series docs/metrics.md documents, so a
# renamed metric cannot leave a panel empty unnoticed.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root/contrib/prometheus"
promtool check rules sluice-alerts.yml
promtool test rules sluice-alerts.test.yml
python3 - "$root" <<'PY'
import json, re, sys
root = sys.argv[1]
dashboard = json.load(open(f"{root}/contrib/grafana/sluice-dashboard.json"))
documented = open(f"{root}/docs/metrics.md").read()
rules = open(f"{root}/contrib/prometheus/sluice-alerts.yml").read()
exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
names = set()
for text in exprs + [rules]:
    names.update(re.findall(r"\b((?:sluice|process)_[a-z_]+?)(?:_bucket|_count|_sum)?\b(?=[{\[\s)])", text))
missing = sorted(n for n in names if f"`{n}`" not in documented and not any(f"`{n}`" in part for part in documented.split("|")))
# A histogram is documented by its base name.
missing = [n for n in missing if f"`{re.sub(r'_(bucket|count|sum)$', '', n)}`" not in documented]
assert not missing, f"not in docs/metrics.md: {missing}"
assert len(dashboard["panels"]) >= 10 and dashboard["uid"], "the dashboard lost its panels"
print(f"dashboard: {len(dashboard['panels'])} panels, {len(names)} series, all documented")
PY
echo "contrib: alert rules load and pass their tests; the dashboard's series are documented"
