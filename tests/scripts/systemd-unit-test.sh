#!/usr/bin/env bash
# etc/sluiced.service as systemd reads it: `systemd-analyze verify` on the
# unit, pointed at the built binaries, must report nothing (unknown keys,
# bad values and missing executables are all errors there).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="$1"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
sed -e "s|/usr/local/bin/|$bin/|g" "$root/etc/sluiced.service" > "$work/sluiced.service"
report=$(systemd-analyze verify "$work/sluiced.service" 2>&1 || echo "systemd-analyze exited $?")
# Lines about other units on the host (not ours) are not this test's business.
ours=$(grep -F "sluiced.service" <<<"$report" || true)
if [[ -n "$ours" ]]; then
  echo "systemd-analyze verify found problems in etc/sluiced.service:"
  echo "$ours"
  exit 1
fi
grep -q '^ExecReload=/bin/kill -HUP \$MAINPID$' "$work/sluiced.service"
grep -q '^NoNewPrivileges=yes$' "$work/sluiced.service"
echo "etc/sluiced.service verifies"
