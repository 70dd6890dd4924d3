#!/usr/bin/env bash
# Runs the official openai and ollama JavaScript clients against a real
# sluiced in front of the fake Ollama and a fake OpenAI-compatible provider
# (gpt-4o-mini, which Ollama clients reach through translation), all on free
# loopback ports, with apikey auth and a key made by sluicectl, as a
# deployment would run.
set -euo pipefail
bin="${1:?usage: run.sh BUILD_BIN_DIR}"
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

wait_for_port() {  # file -> port from its "listening on http://HOST:PORT" line
  for _ in $(seq 150); do
    port=$(sed -n 's|.*listening on http://[^ ]*:\([0-9][0-9]*\).*|\1|p' "$1" | head -1)
    [[ -n "$port" ]] && { echo "$port"; return 0; }
    sleep 0.1
  done
  echo "no listening line in $1:" >&2; cat "$1" >&2; return 1
}

"$bin/sluice-fake-backend" --kind ollama --port 0 --name e2e-ollama > "$work/fake.log" 2>&1 &
pids+=($!)
fake_port=$(wait_for_port "$work/fake.log")
"$bin/sluice-fake-backend" --kind openai --port 0 --name e2e-openai --models gpt-4o-mini > "$work/cloud.log" 2>&1 &
pids+=($!)
cloud_port=$(wait_for_port "$work/cloud.log")

cat > "$work/sluice.properties" <<EOT
server.host = 127.0.0.1
server.port = 0
plugins.path = $(cd "$bin/../lib/sluice" && pwd)
pipeline.auth = apikey
store.url = sqlite:$work/sluice.db
auth.argon2.time_cost = 1
auth.argon2.memory_kib = 1024
auth.argon2.parallelism = 1
pipeline.router = priority
backends = local, cloud
backends.local.url = http://127.0.0.1:$fake_port
backends.local.kind = ollama
backends.cloud.url = http://127.0.0.1:$cloud_port/v1
backends.cloud.kind = openai
EOT
"$bin/sluicectl" --config "$work/sluice.properties" tenants create e2e --all-models > /dev/null
key=$("$bin/sluicectl" --config "$work/sluice.properties" keys create --tenant e2e | tail -1)
"$bin/sluiced" --config "$work/sluice.properties" > "$work/sluiced.log" 2>&1 &
pids+=($!)
gateway_port=$(wait_for_port "$work/sluiced.log")

if [[ ! -d "$here/node_modules" ]]; then (cd "$here" && npm ci --no-audit --no-fund --loglevel=error); fi
cd "$here"
SLUICE_URL="http://127.0.0.1:$gateway_port" SLUICE_API_KEY="$key" SLUICE_OPENAI_ONLY_MODEL=gpt-4o-mini \
  node --test clients.test.mjs
