#!/usr/bin/env bash
# The operator console in Debian's Chromium (console.test.mjs, driven by
# playwright-core) against a real sluiced with console.enabled, in front of
# two fake Ollamas ("a" and "b", both hosting llama3.2), all on free
# loopback ports. apikey auth on a SQLite store that also holds the audit
# trail; the keys are made by sluicectl: an admin key (tenant ops), and an
# ordinary one (tenant team-a). The browser's screenshots go to
# BUILD/console-screenshots; with SLUICE_UPDATE_DOCS=1 they are also copied
# into docs/images/console/ for docs/console.md.
set -euo pipefail
build="$(cd "${1:?usage: console-run.sh BUILD_DIR}" && pwd)"
bin="$build/bin"
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=common.sh
source "$here/common.sh"
[[ -x /usr/bin/chromium ]] || { echo "console-run.sh: /usr/bin/chromium is missing (scripts/install-deps --test installs it)" >&2; exit 1; }

"$bin/sluice-fake-backend" --kind ollama --port 0 --name console-a > "$work/a.log" 2>&1 &
pids+=($!)
a_port=$(wait_for_port "$work/a.log")
"$bin/sluice-fake-backend" --kind ollama --port 0 --name console-b > "$work/b.log" 2>&1 &
b_pid=$!
pids+=($b_pid)
b_port=$(wait_for_port "$work/b.log")

cat > "$work/sluice.properties" <<EOT
server.host = 127.0.0.1
server.port = 0
plugins.path = $(cd "$bin/../lib/sluice" && pwd)
console.enabled = true
console.assets_path = $(cd "$build/share/sluice/console" && pwd)
pipeline.auth = apikey
store.url = sqlite:$work/sluice.db
auth.argon2.time_cost = 1
auth.argon2.memory_kib = 1024
auth.argon2.parallelism = 1
pipeline.audit = sqlite
audit.sqlite.url = sqlite:$work/sluice.db
audit.flush_ms = 200
pipeline.router = round-robin
backends = a, b
backends.a.url = http://127.0.0.1:$a_port
backends.a.kind = ollama
backends.b.url = http://127.0.0.1:$b_port
backends.b.kind = ollama
# One failure opens a circuit, and it stays open while the page looks.
health.failure_threshold = 1
health.backoff_ms = 60000
health.max_backoff_ms = 60000
EOT
ctl() { "$bin/sluicectl" --config "$work/sluice.properties" "$@"; }
ctl tenants create ops --all-models --admin on > /dev/null
ctl tenants create team-a --all-models > /dev/null
admin_key=$(ctl keys create --tenant ops | tail -1)
user_key=$(ctl keys create --tenant team-a | tail -1)
"$bin/sluiced" --config "$work/sluice.properties" > "$work/sluiced.log" 2>&1 &
pids+=($!)
gateway_port=$(wait_for_port "$work/sluiced.log")

install_test_packages "$here"
screenshots="$build/console-screenshots"
rm -rf "$screenshots"
cd "$here"
status=0
SLUICE_URL="http://127.0.0.1:$gateway_port" SLUICE_ADMIN_KEY="$admin_key" SLUICE_USER_KEY="$user_key" \
  SLUICE_KILL_BACKEND_CMD="kill $b_pid" SLUICE_SCREENSHOTS="$screenshots" \
  node --test --test-concurrency=1 console.test.mjs || status=$?
if [[ $status -ne 0 ]]; then
  echo "--- sluiced's log ---" >&2
  tail -50 "$work/sluiced.log" >&2
  exit $status
fi
# Every page's screenshot was taken by this run.
for shot in overview keys playground usage requests; do
  [[ -s "$screenshots/$shot.png" ]] || { echo "console-run.sh: no $shot.png" >&2; exit 1; }
done
if [[ "${SLUICE_UPDATE_DOCS:-}" == 1 ]]; then
  mkdir -p "$here/../../docs/images/console"
  cp "$screenshots"/*.png "$here/../../docs/images/console/"
fi
