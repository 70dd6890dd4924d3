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
# shellcheck source=common.sh
source "$here/common.sh"

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

install_test_packages "$here"
cd "$here"
export SLUICE_URL="http://127.0.0.1:$gateway_port" SLUICE_API_KEY="$key" SLUICE_OPENAI_ONLY_MODEL=gpt-4o-mini \
  FAKE_OLLAMA_URL="http://127.0.0.1:$fake_port" FAKE_OPENAI_URL="http://127.0.0.1:$cloud_port"
# SLUICE_E2E_FILES picks test files for a focused run (default: all three).
# One file at a time: the fault rules some tests set on the shared fakes must
# not meet another file's requests.
node --test --test-concurrency=1 ${SLUICE_E2E_FILES:-clients.test.mjs agents.test.mjs frameworks.test.mjs}
