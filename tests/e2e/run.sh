#!/usr/bin/env bash
# Runs real JavaScript clients against a real sluiced in front of three
# fakes, all on free loopback ports, with apikey auth and a key made by
# sluicectl, as a deployment would run:
# - local: a fake Ollama (llama3.2), which serves /v1/messages and
#   /v1/responses itself: those doors pass through;
# - cloud: a fake OpenAI-compatible provider (gpt-4o-mini and the embedding
#   model text-embedding-3-small) that serves only Chat Completions: Ollama
#   clients and both agents' doors reach it through translation;
# - claude: a fake of Anthropic's own API (claude-sonnet-4-5), kind anthropic.
# clients.test.mjs: the openai and ollama SDKs; agents.test.mjs: the
# @anthropic-ai/sdk and the openai SDK's Responses API; frameworks.test.mjs:
# LangChain and the Vercel AI SDK.
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
"$bin/sluice-fake-backend" --kind openai --port 0 --name e2e-openai --models gpt-4o-mini \
  --embed-models text-embedding-3-small > "$work/cloud.log" 2>&1 &
pids+=($!)
cloud_port=$(wait_for_port "$work/cloud.log")
"$bin/sluice-fake-backend" --kind anthropic --port 0 --name e2e-claude --models claude-sonnet-4-5 --token sk-ant-e2e \
  > "$work/claude.log" 2>&1 &
pids+=($!)
claude_port=$(wait_for_port "$work/claude.log")

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
backends = local, cloud, claude
backends.local.url = http://127.0.0.1:$fake_port
backends.local.kind = ollama
backends.cloud.url = http://127.0.0.1:$cloud_port/v1
backends.cloud.kind = openai
backends.claude.url = http://127.0.0.1:$claude_port
backends.claude.kind = anthropic
backends.claude.auth.token = sk-ant-e2e
# Failover between doors: the first entry is made to fail by a fault rule.
aliases.agents-chain.chain = local/qwen2.5:0.5b, cloud/gpt-4o-mini
EOT
"$bin/sluicectl" --config "$work/sluice.properties" tenants create e2e --all-models > /dev/null
key=$("$bin/sluicectl" --config "$work/sluice.properties" keys create --tenant e2e | tail -1)
"$bin/sluiced" --config "$work/sluice.properties" > "$work/sluiced.log" 2>&1 &
pids+=($!)
gateway_port=$(wait_for_port "$work/sluiced.log")

# npm ci keeps its own copy of the lock file: an older one means new clients to install.
if [[ ! -d "$here/node_modules" || "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi
cd "$here"
export SLUICE_URL="http://127.0.0.1:$gateway_port" SLUICE_API_KEY="$key" SLUICE_OPENAI_ONLY_MODEL=gpt-4o-mini \
  FAKE_OLLAMA_URL="http://127.0.0.1:$fake_port" FAKE_OPENAI_URL="http://127.0.0.1:$cloud_port"
# SLUICE_E2E_FILES picks test files for a focused run (default: all three).
# One file at a time: the fault rules some tests set on the shared fakes must
# not meet another file's requests.
node --test --test-concurrency=1 ${SLUICE_E2E_FILES:-clients.test.mjs agents.test.mjs frameworks.test.mjs}
