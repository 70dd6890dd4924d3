# What the end-to-end runners (run.sh, console-run.sh) share: a scratch
# folder and the children to stop when the runner exits, the port a
# sluiced or fake reports, and the npm packages the tests import.
# Sourced, not run.

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

# npm ci keeps its own copy of the lock file: an older one means new packages to install.
install_test_packages() {  # folder holding package-lock.json
  if [[ ! -d "$1/node_modules" || "$1/package-lock.json" -nt "$1/node_modules/.package-lock.json" ]]; then
    (cd "$1" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}
