#!/usr/bin/env bash
# A plugin author's path, end to end: install Sluice into a fresh prefix,
# build examples/tenant-pinning-router from its own folder with nothing but
# find_package(Sluice), install it beside the bundled plugins, and run the
# installed sluiced with it: requests follow the tenant's pool, not the
# priority order. pkg-config gives the same SDK. Loopback only.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="$1"
work="$(mktemp -d)"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
prefix="$work/prefix"

cmake --install "$build" --prefix "$prefix" > "$work/install.log"
cmake -S "$root/examples/tenant-pinning-router" -B "$work/example" -DCMAKE_PREFIX_PATH="$prefix" > "$work/configure.log"
cmake --build "$work/example" > "$work/build.log"
cmake --install "$work/example" --prefix "$prefix" > /dev/null
test -f "$prefix/lib/sluice/tenant-pinning-router.so"
cmake -S "$root/examples/cheapest-first-router" -B "$work/cheapest" -DCMAKE_PREFIX_PATH="$prefix" > "$work/configure-cheapest.log"
cmake --build "$work/cheapest" > "$work/build-cheapest.log"
cmake --install "$work/cheapest" --prefix "$prefix" > /dev/null
test -f "$prefix/lib/sluice/cheapest-first-router.so"

# pkg-config knows the installed SDK too.
PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --libs sluice-sdk | grep -q -- '-lsluice-sdk'
PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags sluice-sdk | grep -q -- "/include"

# `sluiced --check` on $1 must exit 78 with a line matching $2 ($3 says what was wrong).
expect_refused() {
  set +e
  "$prefix/bin/sluiced" --config "$1" --check > "$work/check.log" 2>&1
  local code=$?
  set -e
  [[ $code -eq 78 ]] && grep -q "$2" "$work/check.log" || {
    echo "$3 was not refused as documented (exit $code)"; cat "$work/check.log"; exit 1; }
}

# Two fake Ollamas; the gateway on a port of its own choosing. Started in
# this shell (not in a $(...) subshell), so the clean-up knows their pids.
start_fake() {
  "$build/bin/sluice-fake-backend" --kind ollama --name "$1" --port 0 > "$work/$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do grep -qo 'listening on [^ ]*:[0-9]*' "$work/$1.log" 2>/dev/null && break; sleep 0.05; done
  fake_port=$(grep -o 'listening on [^ ]*:[0-9]*' "$work/$1.log" | grep -o '[0-9]*$')
}
start_fake box-a
port_a=$fake_port
start_fake box-b
port_b=$fake_port
cat > "$work/sluice.properties" <<EOT
server.host = 127.0.0.1
server.port = 0
pipeline.auth = allow-all
plugins.load = allow-all, discovery, tenant-pinning-router
pipeline.router = tenant-pinning
# Priority order would pick a; the anonymous tenant's pool is b.
backends = a, b
backends.a.url = http://127.0.0.1:$port_a
backends.b.url = http://127.0.0.1:$port_b
router.pinning.pools.anonymous = b
router.pinning.shared = a
health.probe_interval_ms = 0
EOT
"$prefix/bin/sluiced" --config "$work/sluice.properties" > "$work/sluiced.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q 'listening on' "$work/sluiced.log" && break; sleep 0.05; done
gateway_port=$(grep -o 'listening on http://[^ ]*:[0-9]*' "$work/sluiced.log" | grep -o '[0-9]*$' || true)
if [[ -z "$gateway_port" ]]; then cat "$work/sluiced.log"; exit 1; fi
grep -q 'router=tenant-pinning' "$work/sluiced.log"

served=$(curl -fsS -D - -o /dev/null "http://127.0.0.1:$gateway_port/api/chat" \
  -d '{"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"stream":false}' | tr -d '\r' |
  sed -n 's/^X-Sluice-Backend: //Ip')
if [[ "$served" != "b" ]]; then
  echo "expected backend b (the tenant's pool), got '$served'"; cat "$work/sluiced.log"; exit 1
fi

# cheapest-first: a costs more than b, so b serves though a is first in the list.
run_gateway() {  # $1: the properties file; sets gateway_port
  "$prefix/bin/sluiced" --config "$1" > "$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do grep -q 'listening on' "$1.log" && break; sleep 0.05; done
  gateway_port=$(grep -o 'listening on http://[^ ]*:[0-9]*' "$1.log" | grep -o '[0-9]*$' || true)
  [[ -n "$gateway_port" ]] || { cat "$1.log"; exit 1; }
}
sed -e 's/^plugins.load = .*/plugins.load = allow-all, discovery, cheapest-first-router/' \
    -e 's/^pipeline.router = .*/pipeline.router = cheapest-first/' -e '/^router.pinning/d' \
    "$work/sluice.properties" > "$work/cheapest.properties"
printf 'router.cost.a = 150\nrouter.cost.b = 3\n' >> "$work/cheapest.properties"
run_gateway "$work/cheapest.properties"
served=$(curl -fsS -D - -o /dev/null "http://127.0.0.1:$gateway_port/api/chat" \
  -d '{"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"stream":false}' | tr -d '\r' |
  sed -n 's/^X-Sluice-Backend: //Ip')
[[ "$served" == "b" ]] || { echo "cheapest-first: expected b, got '$served'"; cat "$work/cheapest.properties.log"; exit 1; }
echo "router.cost.nowhere = 1" >> "$work/cheapest.properties"
expect_refused "$work/cheapest.properties" "router.cost.nowhere: no backend named 'nowhere'" "a cost for an unknown backend"

# A pool naming an unknown backend stops the start with the key named.
sed -i 's/^router.pinning.pools.anonymous = b$/router.pinning.pools.anonymous = nowhere/' "$work/sluice.properties"
expect_refused "$work/sluice.properties" "router.pinning.pools.anonymous: no backend named 'nowhere'" "a pool of an unknown backend"
# The same plugin built against an SDK of another ABI major (a copy of the
# installed one that says 1) is refused with the documented message.
old="$work/old-sdk"
cp -r "$prefix" "$old"
sed -i 's/^#define SLUICE_ABI_MAJOR .*/#define SLUICE_ABI_MAJOR 1/' "$old/include/sluice/Abi.h"
cmake -S "$root/examples/tenant-pinning-router" -B "$work/old-example" -DCMAKE_PREFIX_PATH="$old" > /dev/null
cmake --build "$work/old-example" > /dev/null
sed -i "s|^plugins.load = .*|plugins.load = allow-all, discovery, $work/old-example/tenant-pinning-router.so|" "$work/sluice.properties"
kernel_abi=$(sed -n 's/^#define SLUICE_ABI_MAJOR \(.*\)/\1/p' "$prefix/include/sluice/Abi.h")
expect_refused "$work/sluice.properties" \
  "plugin ABI 1\.[0-9]* does not match kernel ABI $kernel_abi\.[0-9]*; rebuild the plugin against this SDK" "a plugin of another ABI"
echo "out-of-tree plugins built against the installed SDK, loaded and routing; another ABI refused"
