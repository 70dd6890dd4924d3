#!/usr/bin/env bash
# README command 1 as a user meets it: with nothing at the configured Ollama
# URL, scripts/run-gateway starts the bundled fake Ollama there, says so, and
# prints a curl line that streams a real answer through the gateway.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:-$root/build}"
work="$(mktemp -d)"
script_pid=""
cleanup() { [[ -n "$script_pid" ]] && kill "$script_pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
ollama_port=$(free_port)
gateway_port=$(free_port)
cat > "$work/sluice.properties" <<EOT
server.host = 127.0.0.1
server.port = $gateway_port
pipeline.auth = apikey
store.url = sqlite:$work/sluice.db
auth.argon2.memory_kib = 1024
auth.argon2.time_cost = 1
backends = local
backends.local.url = http://127.0.0.1:$ollama_port
backends.local.kind = ollama
EOT

SLUICE_SKIP_BUILD=1 SLUICE_BUILD_DIR="$build" SLUICE_CONFIG="$work/sluice.properties" SLUICE_KEY_FILE="$work/local.key" "$root/scripts/run-gateway" > "$work/out.log" 2>&1 &
script_pid=$!
for _ in $(seq 300); do grep -q "curl -N" "$work/out.log" && break; sleep 0.1; done

fail() { echo "FAIL: $1"; echo "--- run-gateway output:"; cat "$work/out.log"; exit 1; }
grep -q "Created an API key for tenant 'local' in $work/local.key" "$work/out.log" || fail "no key was made for the apikey default"
grep -q "Nothing answers at http://127.0.0.1:$ollama_port: starting the bundled fake Ollama" "$work/out.log" || fail "no notice that the fake Ollama stands in"
command_line=$(grep "curl -N" "$work/out.log" | sed 's/^ *//') || fail "no curl line printed"
answer=$(eval "$command_line -sS")
lines=$(printf '%s\n' "$answer" | grep -c '"message"')
[[ "$lines" -ge 3 ]] || fail "expected a streamed answer of several lines, got: $answer"
printf '%s\n' "$answer" | tail -1 | grep -q '"done":true' || fail "the stream did not end with done:true: $answer"

# A second run on the same port (the gateway above still serves it) stops
# with the port named and exit 69, and leaves the key file as it was.
key_before=$(cat "$work/local.key")
status=0
SLUICE_SKIP_BUILD=1 SLUICE_BUILD_DIR="$build" SLUICE_CONFIG="$work/sluice.properties" SLUICE_KEY_FILE="$work/local.key" "$root/scripts/run-gateway" > "$work/second.log" 2>&1 || status=$?
[[ "$status" -eq 69 ]] || { cat "$work/second.log"; fail "a second run on a busy port exited $status, not 69"; }
grep -q "Port $gateway_port on 127.0.0.1 is in use" "$work/second.log" || { cat "$work/second.log"; fail "the busy port was not named"; }
grep -q "Sluice is running" "$work/second.log" && fail "a second run on a busy port said it was running"
[[ "$(cat "$work/local.key")" == "$key_before" ]] || fail "a second run on a busy port replaced the key file"

# sluiced itself refuses a taken port the same way (exit 69), --check does not need the port.
status=0
"$build/bin/sluiced" --config "$work/sluice.properties" > "$work/direct.log" 2>&1 || status=$?
[[ "$status" -eq 69 ]] || { cat "$work/direct.log"; fail "sluiced on a busy port exited $status, not 69"; }
grep -q "the port is in use" "$work/direct.log" || { cat "$work/direct.log"; fail "sluiced did not say the port is in use"; }
"$build/bin/sluiced" --config "$work/sluice.properties" --check > /dev/null || fail "--check failed while the port is busy"
"$build/bin/sluiced" --version | grep -q "^sluiced [0-9.]* (plugin ABI " || fail "sluiced --version"
"$build/bin/sluicectl" --version | grep -q "^sluicectl [0-9.]* (plugin ABI " || fail "sluicectl --version"
echo "1 passed, 0 failed"
