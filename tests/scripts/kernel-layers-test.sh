#!/usr/bin/env bash
# The kernel's folders keep their layering (docs/architecture.md, "The
# kernel's layout"): front/ (the client side) and upstream/ (the backend
# side) never include each other, directly or through any header they
# include; the neutral folders, http/, net/, dialect/, translate/, audit/, capacity/ and console/,
# include neither. Gateway.cpp and Pipeline.cpp join the two sides.
# Includes are followed as the compiler would find them: next to the
# including file, then from kernel/; SDK and system headers end the walk.
set -euo pipefail
cd "$(dirname "$0")/../../kernel"

# "a/b/../c.h" -> "a/c.h", in the shell: the walk resolves thousands of paths.
normalize() {
    local -a parts=() out=()
    local part
    IFS=/ read -ra parts <<< "$1"
    for part in "${parts[@]}"; do
        case "$part" in
        "" | .) ;;
        ..) [[ ${#out[@]} -gt 0 ]] && unset 'out[${#out[@]}-1]' ;;
        *) out+=("$part") ;;
        esac
    done
    local IFS=/
    resolved="${out[*]}"
}

# direct[file]: the kernel files `file` includes, one per line, each read once.
declare -A direct
readIncludes() {
    local file="$1" dir include list=""
    dir="$(dirname "$file")"
    while IFS= read -r include; do
        normalize "$dir/$include"
        if [[ -f "$resolved" ]]; then list+="$resolved"$'\n'
        elif [[ -f "$include" ]]; then normalize "$include"; list+="$resolved"$'\n'
        fi
    done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$file")
    direct[$file]="$list"
}

failed=0
# check FOLDER FORBIDDEN...: no file in FOLDER reaches a file in a FORBIDDEN folder.
check() {
    local folder="$1" file next forbidden
    shift
    for file in "$folder"/*.h "$folder"/*.cpp; do
        [[ -f "$file" ]] || continue
        local -A seen=()
        local -a work=("$file")
        while [[ ${#work[@]} -gt 0 ]]; do
            local current="${work[-1]}"
            unset 'work[-1]'
            [[ -n "${direct[$current]+x}" ]] || readIncludes "$current"
            while IFS= read -r next; do
                [[ -z "$next" || -n "${seen[$next]:-}" ]] && continue
                seen[$next]=1
                work+=("$next")
                for forbidden in "$@"; do
                    if [[ "$next" == "$forbidden"/* ]]; then
                        echo "kernel/$file reaches kernel/$next ($folder/ must not include $forbidden/)"
                        failed=1
                    fi
                done
            done <<< "${direct[$current]}"
        done
        unset seen
    done
}

check front upstream
check upstream front
for neutral in http net dialect translate audit capacity console; do check "$neutral" front upstream; done

if [[ "$failed" -ne 0 ]]; then exit 1; fi
echo "1 passed, 0 failed"
