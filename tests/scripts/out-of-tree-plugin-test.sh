#!/usr/bin/env bash
# A plugin author's path, end to end: install Sluice into a fresh prefix;
# build each example in examples/ from its own folder with nothing but
# find_package(Sluice), run its CppUnit tests (the SDK's test helpers, on the
# built .so), install it beside the bundled plugins, and run the installed
# sluiced with it: requests follow the plugin's strategy or identity, bad
# settings stop the start naming their key, and a plugin built against
# another ABI is refused with the documented message. pkg-config gives the
# same SDK. Loopback only.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="$1"
work="$(mktemp -d)"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
prefix="$work/prefix"
fail() { echo "$1"; shift; for log in "$@"; do cat "$log"; done; exit 1; }

cmake --install "$build" --prefix "$prefix" > "$work/install.log"

# build_example NAME [SOURCE_DIR]: configure, build, unit-test and install one plugin.
build_example() {
  local name=$1 source=${2:-$root/examples/$1} sdk=$prefix out="$work/build-$1"
  cmake -S "$source" -B "$out" -DCMAKE_PREFIX_PATH="$sdk" > "$out.log" 2>&1 || fail "$name: configure failed" "$out.log"
  cmake --build "$out" -j2 >> "$out.log" 2>&1 || fail "$name: build failed" "$out.log"
  ctest --test-dir "$out" --output-on-failure >> "$out.log" 2>&1 || fail "$name: its unit tests failed" "$out.log"
  grep -q '100% tests passed, 0 tests failed out of [1-9]' "$out.log" || fail "$name: ran no unit test" "$out.log"
  cmake --install "$out" --prefix "$sdk" > /dev/null
  test -f "$sdk/lib/sluice/$name.so" || fail "$name: not installed into $sdk/lib/sluice"
}
for example in tenant-pinning-router cheapest-first-router header-auth; do build_example "$example"; done

# docs/plugins.md's tutorial, file by file as the page shows them: each
# `<!-- tutorial-file: PATH -->` line names the code block that follows.
tutorial="$work/tutorial"
awk -v dir="$tutorial" '
  /^<!-- tutorial-file: .* -->$/ { file = dir "/" $3; next }
  file != "" && /^```/ { if (inside) { inside = 0; file = "" } else inside = 1; next }
  inside { d = file; sub(/\/[^\/]*$/, "", d); system("mkdir -p \"" d "\""); print > file }
' "$root/docs/plugins.md"
for file in PreferRouter.cpp test/PreferRouterTest.cpp CMakeLists.txt prefer.properties; do
  test -s "$tutorial/$file" || fail "docs/plugins.md: the tutorial has no $file"
done
build_example prefer-router "$tutorial"

# pkg-config knows the installed SDK too.
PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --libs sluice-sdk | grep -q -- '-lsluice-sdk'
PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags sluice-sdk | grep -q -- "/include"

# `sluiced --check` on $1 must exit 78 with a line matching $2 ($3 says what was wrong).
expect_refused() {
  set +e
  "$prefix/bin/sluiced" --config "$1" --check > "$work/check.log" 2>&1
  local code=$?
  set -e
  [[ $code -eq 78 ]] && grep -q "$2" "$work/check.log" || fail "$3 was not refused as documented (exit $code)" "$work/check.log"
}

# Two fake Ollamas. Started in this shell (not in a $(...) subshell), so the
# clean-up knows their pids.
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

# run_gateway FILE: the installed sluiced on a port of its own choosing; sets gateway_port.
gateway_pid=""
run_gateway() {
  # One gateway at a time: the one before stops first, its log lines
  # written (it holds them back up to 100 ms), before a new one truncates
  # the log file it may share.
  if [[ -n "$gateway_pid" ]]; then kill "$gateway_pid" 2>/dev/null || true; wait "$gateway_pid" 2>/dev/null || true; fi
  "$prefix/bin/sluiced" --config "$1" > "$1.log" 2>&1 &
  gateway_pid=$!
  pids+=($!)
  for _ in $(seq 100); do grep -q 'listening on' "$1.log" && break; sleep 0.05; done
  gateway_port=$(grep -o 'listening on http://[^ ]*:[0-9]*' "$1.log" | grep -o '[0-9]*$' || true)
  [[ -n "$gateway_port" ]] || fail "sluiced did not start on $1" "$1.log"
}
# served_by [CURL ARGS]: the backend that served an Ollama chat (X-Sluice-Backend).
served_by() {
  curl -fsS -D - -o /dev/null "$@" "http://127.0.0.1:$gateway_port/api/chat" \
    -d '{"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"stream":false}' | tr -d '\r' |
    sed -n 's/^X-Sluice-Backend: //Ip'
}

base="$work/base.properties"
cat > "$base" <<EOT
server.host = 127.0.0.1
server.port = 0
pipeline.auth = allow-all
backends = a, b
backends.a.url = http://127.0.0.1:$port_a
backends.b.url = http://127.0.0.1:$port_b
health.probe_interval_ms = 0
EOT

# tenant-pinning: priority order would pick a; the anonymous tenant's pool is b.
pinning="$work/pinning.properties"
cat "$base" - > "$pinning" <<EOT
plugins.load = allow-all, discovery, tenant-pinning-router
pipeline.router = tenant-pinning
router.pinning.pools.anonymous = b
router.pinning.shared = a
EOT
run_gateway "$pinning"
grep -q 'router=tenant-pinning' "$pinning.log" || fail "the log does not name the tenant-pinning router" "$pinning.log"
served=$(served_by)
[[ "$served" == "b" ]] || fail "tenant-pinning: expected b (the tenant's pool), got '$served'" "$pinning.log"

# cheapest-first: a costs more than b, so b serves though a is first in the list.
cheapest="$work/cheapest.properties"
cat "$base" - > "$cheapest" <<EOT
plugins.load = allow-all, discovery, cheapest-first-router
pipeline.router = cheapest-first
router.cost.a = 150
router.cost.b = 3
EOT
run_gateway "$cheapest"
served=$(served_by)
[[ "$served" == "b" ]] || fail "cheapest-first: expected b, got '$served'" "$cheapest.log"

# header-auth: the identity header is believed from the sign-on proxy (here
# the loopback peer), and becomes the audited caller; without it, or from a
# peer that is not the sign-on proxy (even one trusted for X-Forwarded-For),
# the answer is a 401 in the client's protocol.
header="$work/header.properties"
sed -e '/^pipeline.auth/d' "$base" > "$header"
cat >> "$header" <<EOT
plugins.load = header-auth, discovery, router
pipeline.auth = header
auth.header.proxies = 127.0.0.1
auth.header.tenant_header = x-forwarded-groups
EOT
run_gateway "$header"
served=$(served_by -H 'X-Forwarded-User: ada@example.org' -H 'X-Forwarded-Groups: research')
[[ "$served" == "a" ]] || fail "header-auth: a signed-in user was not served (got '$served')" "$header.log"
# The access line is written once the answer is out: wait for it, bounded.
for _ in $(seq 100); do grep -q 'sluice.access.* key_id=ada@example.org .*tenant=research' "$header.log" && break; sleep 0.05; done
grep -q 'sluice.access.* key_id=ada@example.org .*tenant=research' "$header.log" ||
  fail "header-auth: the access log does not name the signed-in user and tenant" "$header.log"
code=$(curl -sS -o "$work/anonymous.json" -w '%{http_code}' "http://127.0.0.1:$gateway_port/api/chat" \
  -d '{"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"stream":false}')
[[ "$code" == 401 ]] && grep -q '^{"error":"' "$work/anonymous.json" || fail "header-auth: no identity got $code" "$work/anonymous.json"
sed -i 's/^auth.header.proxies = .*/auth.header.proxies = 127.0.0.2\nserver.trusted_proxies = 127.0.0.1/' "$header"
run_gateway "$header"
code=$(curl -sS -o "$work/untrusted.json" -w '%{http_code}' "http://127.0.0.1:$gateway_port/v1/chat/completions" \
  -H 'X-Forwarded-User: root' -d '{"model":"llama3.2","messages":[{"role":"user","content":"hi"}]}')
[[ "$code" == 401 ]] && grep -q '"error":{.*"message":"sign in through' "$work/untrusted.json" ||
  fail "header-auth: a header from an untrusted peer got $code" "$work/untrusted.json"
sed -i '/^auth.header.proxies/d' "$header"
expect_refused "$header" "auth.header.proxies: must name the sign-on proxy" "header-auth without its proxies"

# The tutorial's router, loaded by the tutorial's own file (its ports made
# this run's): b is preferred though a comes first.
sed -e 's/^server.port = .*/server.port = 0/' -e "s/:11434$/:$port_a/" -e "s/:11435$/:$port_b/" \
  "$tutorial/prefer.properties" > "$work/prefer.properties"
echo "health.probe_interval_ms = 0" >> "$work/prefer.properties"
run_gateway "$work/prefer.properties"
served=$(served_by)
[[ "$served" == "b" ]] || fail "the tutorial's prefer router: expected b, got '$served'" "$work/prefer.properties.log"
sed -i 's/^router.prefer.first = .*/router.prefer.first = c/' "$work/prefer.properties"
expect_refused "$work/prefer.properties" "router.prefer.first: no backend named 'c'" "the tutorial's typo"

# Bad settings stop the start with the key named.
echo "router.cost.nowhere = 1" >> "$cheapest"
expect_refused "$cheapest" "router.cost.nowhere: no backend named 'nowhere'" "a cost for an unknown backend"
sed -i 's/^router.pinning.pools.anonymous = b$/router.pinning.pools.anonymous = nowhere/' "$pinning"
expect_refused "$pinning" "router.pinning.pools.anonymous: no backend named 'nowhere'" "a pool of an unknown backend"

# The same plugin built against an SDK of another ABI major (a copy of the
# installed one that says 1) is refused with the documented message.
old="$work/old-sdk"
cp -r "$prefix" "$old"
sed -i 's/^#define SLUICE_ABI_MAJOR .*/#define SLUICE_ABI_MAJOR 1/' "$old/include/sluice/Abi.h"
cmake -S "$root/examples/tenant-pinning-router" -B "$work/old-example" -DCMAKE_PREFIX_PATH="$old" > /dev/null
cmake --build "$work/old-example" --target tenant-pinning-router > /dev/null
sed -i -e "s|^plugins.load = .*|plugins.load = allow-all, discovery, $work/old-example/tenant-pinning-router.so|" \
    -e 's/^router.pinning.pools.anonymous = .*/router.pinning.pools.anonymous = b/' "$pinning"
kernel_abi=$(sed -n 's/^#define SLUICE_ABI_MAJOR \(.*\)/\1/p' "$prefix/include/sluice/Abi.h")
expect_refused "$pinning" \
  "plugin ABI 1\.[0-9]* does not match kernel ABI $kernel_abi\.[0-9]*; rebuild the plugin against this SDK" "a plugin of another ABI"
echo "3 examples and the tutorial built and unit-tested against the installed SDK, loaded into sluiced and serving; another ABI refused"
