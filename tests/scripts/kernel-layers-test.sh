#!/usr/bin/env bash
# The kernel's folders keep their layering (docs/architecture.md, "The
# kernel's layout"): front/ (the client side) and upstream/ (the backend
# side) never include each other, directly or through any header they
# include; the neutral folders, http/, dialect/, translate/ and audit/,
# include neither. Gateway.cpp and Pipeline.cpp join the two sides.
# Includes are followed as the compiler would find them: next to the
# including file, then from kernel/; SDK and system headers end the walk.
set -euo pipefail
kernel="$(cd "$(dirname "$0")/../../kernel" && pwd)"
cd "$kernel"

declare -A seen
# Prints every kernel file `file` includes, transitively (paths relative to kernel/).
closure() {
    local file="$1" dir include target
    dir="$(dirname "$file")"
    while IFS= read -r include; do
        target=""
        if [[ -f "$dir/$include" ]]; then target="$(realpath --relative-to=. "$dir/$include")"
        elif [[ -f "$include" ]]; then target="$(realpath --relative-to=. "$include")"
        fi
        [[ -z "$target" || -n "${seen[$target]:-}" ]] && continue
        seen[$target]=1
        echo "$target"
        closure "$target"
    done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$file")
}

failed=0
# check FOLDER FORBIDDEN...: no file in FOLDER reaches a file in a FORBIDDEN folder.
check() {
    local folder="$1" file reached forbidden
    shift
    for file in "$folder"/*.h "$folder"/*.cpp; do
        [[ -f "$file" ]] || continue
        seen=()
        while IFS= read -r reached; do
            for forbidden in "$@"; do
                if [[ "$reached" == "$forbidden"/* ]]; then
                    echo "kernel/$file reaches kernel/$reached ($folder/ must not include $forbidden/)"
                    failed=1
                fi
            done
        done < <(closure "$file")
    done
}

check front upstream
check upstream front
for neutral in http dialect translate audit; do check "$neutral" front upstream; done

if [[ "$failed" -ne 0 ]]; then exit 1; fi
echo "1 passed, 0 failed"
