#!/usr/bin/env bash
# Builds the credential fuzzer with clang's libFuzzer, ASan and UBSan, seeds a
# corpus with valid and invalid keys, and fuzzes for a bounded time. Exits
# non-zero on a build failure or on any crash, leak, sanitizer report or
# broken invariant (the failing input is kept in the work directory).
#
#   run.sh WORK_DIR    (ctest passes its binary dir)
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 WORK_DIR" >&2
  exit 2
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=$(mkdir -p "$1" && cd "$1" && pwd)
max_time=${SLUICE_FUZZ_SECONDS:-20}

cxx=${SLUICE_FUZZ_CXX:-clang++}
if ! command -v "$cxx" >/dev/null 2>&1; then
  echo "fuzz: $cxx not found; libFuzzer needs clang (scripts/install-deps installs it)" >&2
  exit 1
fi

binary="$work/credential-fuzzer"
echo "fuzz: building $binary with $("$cxx" --version | head -n 1)"
"$cxx" -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -I"$repo/plugins/auth" "$repo/plugins/auth/ApiKey.cpp" "$here/CredentialFuzzer.cpp" -o "$binary"

# Seeds. Byte 0 picks the header layout (see CredentialFuzzer.cpp); 0xff
# separates the authorization value from the x-api-key value.
corpus="$work/credential-corpus"
mkdir -p "$corpus"
digits=0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz
base62() {
  local out="" i
  for ((i = 0; i < $1; i++)); do out+=${digits:RANDOM % 62:1}; done
  printf '%s' "$out"
}
key="slk_$(base62 12)_$(base62 43)"
other="slk_$(base62 12)_$(base62 43)"
seed() { printf "$1" >"$corpus/seed-$2"; }
seed "\x00Bearer $key" bearer
seed "\x00bEaReR   $key  " bearer-case-spaces
seed "\x08$key" bearer-prefixed
seed "\x01$key" x-api-key
seed "\x02Bearer $key\xff$other" both
seed "\x06Basic dXNlcjpwYXNz\xff$key" basic-then-x-api-key
seed "\x03Bearer \xff" empty-bearer
seed "\x00Bearer ${key:0:59}" short-key
seed "\x00Bearer ${key}x" long-key
seed "\x01${key:0:16}-${key:17}" bad-separator
seed "\x01${key:0:20}\x00${key:21}" nul-inside
seed "\x01${key:0:20}\r\n${key:22}" crlf-inside
seed "\x01${key:0:20}\xc3\xa9${key:22}" utf8-inside
seed "\x09$(printf 'a%.0s' {1..300})" over-limit
printf '%s' "$key" >"$corpus/seed-bare-key"

cd "$work"
echo "fuzz: running for ${max_time}s"
"$binary" -max_total_time="$max_time" -max_len=12000 -timeout=10 -print_final_stats=1 \
  -artifact_prefix="$work/credential-" "$corpus"
echo "fuzz: no crash in ${max_time}s"
