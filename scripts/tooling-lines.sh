#!/usr/bin/env bash
# scripts/tooling-lines.sh [--max RATIO]: the lines of the tooling (shell,
# JavaScript, Python and Lua under .ci/, ci/, scripts/, faults/, k6/, bench/,
# tests/browser/, plus run_tests.sh and serve.sh) against the service's
# (src/**/*.rs; the checker is verify/), as git tracks them in this checkout.
# Prints both and their ratio; with --max, fails when the ratio is above it.
set -euo pipefail
cd "$(dirname "$0")/.."
max=""
case "${1:-}" in
"") ;;
--max) max=${2:?--max needs a ratio, e.g. 0.7} ;;
*) echo "usage: scripts/tooling-lines.sh [--max RATIO]" >&2; exit 2 ;;
esac

lines() { xargs -r cat -- | wc -l; }
tooling=$(git ls-files -- .ci ci scripts faults k6 bench tests/browser run_tests.sh serve.sh |
    grep -E '(\.(sh|js|mjs|py|lua)|^\.ci/run)$' | lines)
service=$(git ls-files -- 'src/*.rs' | lines)
ratio=$(awk -v t="$tooling" -v s="$service" 'BEGIN { printf "%.2f", t / s }')
echo "tooling $tooling lines, service $service lines: $ratio x${max:+ (at most $max)}"
[[ -z $max ]] || awk -v r="$ratio" -v m="$max" 'BEGIN { exit !(r <= m) }'
