#!/usr/bin/env bash
# Builds one fuzz target with clang's libFuzzer, ASan and UBSan, and fuzzes it
# for a bounded time from its committed seeds. Exits non-zero on a build
# failure or on any crash, leak, time-out, sanitizer report or broken
# invariant; the failing input is kept as WORK_DIR/NAME/crash-* (or leak-*,
# timeout-*, oom-*).
#
#   run.sh WORK_DIR NAME [-I DIR]... [-l LIB]... [--max-len BYTES] SOURCE...
#
# Relative DIRs and SOURCEs are from the repository root. The seeds are
# tests/fuzz/corpus/NAME/, which is only read: what the fuzzer learns goes to
# WORK_DIR/NAME/corpus and is reused by the next run. tests/fuzz/dict/NAME.dict
# is the target's dictionary when there is one.
#
# SLUICE_FUZZ_SECONDS  how long to fuzz (default 20)
# SLUICE_FUZZ_CXX      the clang++ to build with (default clang++)
# SLUICE_FUZZ_ARGS     more libFuzzer flags, split at spaces (-jobs=2, -seed=1, ...)
# SLUICE_FUZZ_CXXFLAGS more compiler flags, split at spaces (a campaign past a
#                      known sanitizer report: -fno-sanitize=float-cast-overflow)
set -euo pipefail

usage() {
  echo "usage: $0 WORK_DIR NAME [-I DIR]... [-l LIB]... [--max-len BYTES] SOURCE..." >&2
  exit 2
}
[[ $# -ge 3 ]] || usage
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
name=$2
work=$(mkdir -p "$1/$name" && cd "$1/$name" && pwd)
shift 2

fromRepo() { [[ $1 == /* ]] && printf '%s' "$1" || printf '%s' "$repo/$1"; }
includes=() libs=() sources=() max_len=4096
while [[ $# -gt 0 ]]; do
  case $1 in
    -I) [[ $# -ge 2 ]] || usage; includes+=("-I$(fromRepo "$2")"); shift 2 ;;
    -l) [[ $# -ge 2 ]] || usage; libs+=("-l$2"); shift 2 ;;
    --max-len) [[ $# -ge 2 ]] || usage; max_len=$2; shift 2 ;;
    -*) usage ;;
    *) sources+=("$(fromRepo "$1")"); shift ;;
  esac
done
[[ ${#sources[@]} -gt 0 ]] || usage
max_time=${SLUICE_FUZZ_SECONDS:-20}

cxx=${SLUICE_FUZZ_CXX:-clang++}
if ! command -v "$cxx" >/dev/null 2>&1; then
  echo "fuzz: $cxx not found; libFuzzer needs clang (scripts/install-deps --test installs it)" >&2
  exit 1
fi

# Objects are kept between runs and rebuilt only when a file they were made
# from changed (clang's depfiles say which): an ASan build of the JSON
# translators takes minutes, longer than the run itself.
# shellcheck disable=SC2206  # SLUICE_FUZZ_CXXFLAGS is a list of flags on purpose
sanitize=(-fsanitize=address,undefined -fno-sanitize-recover=all ${SLUICE_FUZZ_CXXFLAGS:-})
flags=(-std=c++20 -g -O1 "${sanitize[@]}" -fsanitize=fuzzer-no-link "${includes[@]}")
objects="$work/obj"
signature="$("$cxx" --version | head -n 1) ${flags[*]}"
if [[ ! -f $objects/flags || $(<"$objects/flags") != "$signature" ]]; then
  rm -rf "$objects"
  mkdir -p "$objects"
  printf '%s' "$signature" >"$objects/flags"
fi
stale() {
  local object=$1 depfile=$2 dep
  [[ -f $object && -f $depfile ]] || return 0
  for dep in $(sed -e '1s/^[^:]*://' -e 's/\\$//' "$depfile"); do
    [[ $dep -nt $object ]] && return 0
  done
  return 1
}

binary="$work/$name"
echo "fuzz: building $binary with $("$cxx" --version | head -n 1)"
built=()
for source in "${sources[@]}"; do
  object="$objects/$(printf '%s' "${source#"$repo"/}" | tr '/' '_').o"
  if stale "$object" "$object.d"; then
    echo "fuzz:   compiling ${source#"$repo"/}"
    "$cxx" "${flags[@]}" -MMD -MF "$object.d" -c "$source" -o "$object"
  fi
  built+=("$object")
done
if [[ ! -x $binary ]] || [[ -n $(find "${built[@]}" -newer "$binary" -print -quit) ]]; then
  "$cxx" -g "${sanitize[@]}" -fsanitize=fuzzer "${built[@]}" "${libs[@]}" -o "$binary"
fi

seeds="$here/corpus/$name"
if [[ ! -d $seeds ]]; then
  echo "fuzz: no seeds at $seeds" >&2
  exit 1
fi
dictionary=()
[[ -f $here/dict/$name.dict ]] && dictionary=(-dict="$here/dict/$name.dict")
mkdir -p "$work/corpus"
# shellcheck disable=SC2206  # SLUICE_FUZZ_ARGS is a list of flags on purpose
extra=(${SLUICE_FUZZ_ARGS:-})

cd "$work"
echo "fuzz: running $name for ${max_time}s"
"$binary" -max_total_time="$max_time" -max_len="$max_len" -timeout=10 -print_final_stats=1 \
  -artifact_prefix="$work/" "${dictionary[@]}" "${extra[@]}" "$work/corpus" "$seeds"
echo "fuzz: no crash in ${max_time}s"
