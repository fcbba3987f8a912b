#!/usr/bin/env bash
# How often the original bpo-37224 tests fail without any starvation
# (BENCHMARKS.md, "bpo-37224 originals without starvation"), four ways:
#   bazel      plain `bazel test --runs_per_test=N` (one process per run,
#              Bazel running as many at once as there are cores)
#   repeat     one process, `--gtest_repeat=N`
#   loop       the binary run N times, one process after another
#   loop2      the same with two loops at once
# Prints a markdown table of failures/runs per test and way.
# Usage: tests/race/measure_baseline.sh [N] [WAY...]   (default 10000, all)
# The bazel way takes about 40 minutes per test for N=10000 on 2 cores; run
# it on an otherwise idle machine, or the figures measure the other load.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-10000}
shift $(( $# > 0 ? 1 : 0 ))
ways=("$@")
[ ${#ways[@]} -gt 0 ] || ways=(bazel repeat loop loop2)
tests=(already_running_original still_running_original)

labels=()
for t in "${tests[@]}"; do labels+=("//tests/race:$t"); done
bazel build "${labels[@]}" >/dev/null 2>&1 ||
  { echo "measure_baseline: bazel build failed; run it to see why" >&2; exit 1; }
bin="$(bazel info bazel-bin 2>/dev/null)/tests/race"

# Each prints the number of failed runs (or iterations) out of $runs.
way_bazel() {  # test
  local line
  line=$(bazel test "//tests/race:$1" --runs_per_test="$runs" \
    --nocache_test_results --test_output=summary 2>&1 | grep -E "^//tests/race:$1 " || true)
  if [[ "$line" =~ FAILED\ in\ ([0-9]+)\ out\ of ]]; then
    echo "${BASH_REMATCH[1]}"
  elif [[ "$line" == *PASSED* ]]; then
    echo 0
  else
    echo "measure_baseline: no result for //tests/race:$1: $line" >&2
    return 1
  fi
}
way_repeat() {  # test: a failed iteration ends with "[  FAILED  ] Case (N ms)"
  "$bin/$1" --gtest_repeat="$runs" 2>&1 | grep -cE '^\[  FAILED  \] .* \([0-9]+ ms\)$' || true
}
loop() {  # test count
  local failed=0 i
  for ((i = 0; i < $2; i++)); do "$bin/$1" >/dev/null 2>&1 || failed=$((failed + 1)); done
  echo "$failed"
}
way_loop() { loop "$1" "$runs"; }
way_loop2() {
  local a b half=$((runs / 2))
  a=$(mktemp) b=$(mktemp)
  loop "$1" "$half" >"$a" & loop "$1" $((runs - half)) >"$b" & wait
  echo $(( $(cat "$a") + $(cat "$b") ))
  rm -f "$a" "$b"
}

echo "| way | test | failures/runs | wall s | load average before |"
echo "|---|---|---:|---:|---|"
for way in "${ways[@]}"; do
  for t in "${tests[@]}"; do
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    start=$(date +%s.%N)
    failed=$("way_$way" "$t")
    wall=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
    echo "| $way | $t | $failed/$runs | $wall | $load |"
  done
done
