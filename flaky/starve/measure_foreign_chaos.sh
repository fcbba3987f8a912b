#!/usr/bin/env bash
# Measures the starve profiles on a race flaky was never tuned on: CPython
# 3.11's own bpo-37224 tests, run by flaky/starve/foreign/subinterp_race.py
# (original: readiness check removed at run time; fixed: as shipped). Each
# run is one process under the wrapper, with TEST_RANDOM_SEED=K as in run K
# of `bazel test --runs_per_test`; a run fails when either test case fails.
# Usage (from the workspace, after `bazel build //flaky/starve`):
#   flaky/starve/measure_foreign_chaos.sh [RUNS [FIXED_RUNS [PROFILE...]]]
# Defaults: 100 runs of the original and 300 of the fixed per profile
# (none is not run fixed; FIXED_RUNS=0 skips the fixed variant), profiles
# none chaos:1 sched:1; put none first to get the "vs none" column. Prints a markdown
# table; STARVE and PYTHON override the binaries, RACE_COMMAND the test (any
# command that takes --fixed and exits 1 when a case fails, e.g.
# bazel-bin/tests/starve/static_race, the model's cases linked statically).
set -euo pipefail
starve=${STARVE:-bazel-bin/flaky/starve/starve}
python=${PYTHON:-/usr/bin/python3.11}
driver=$(dirname "$0")/foreign/subinterp_race.py
runs=${1:-100}
fixed_runs=${2:-300}
shift $(( $# >= 2 ? 2 : $# ))
profiles=("$@")
[ ${#profiles[@]} -gt 0 ] || profiles=(none chaos:1 sched:1)
if [ -n "${RACE_COMMAND:-}" ]; then
  command=("$RACE_COMMAND")
else
  command=("$python" "$driver")
  if ! "$python" -c 'import test.test__xxsubinterpreters' 2>/dev/null; then
    echo "missing CPython's test suite: apt-get install libpython3.11-testsuite" >&2
    exit 1
  fi
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# Prints "FAILED_RUNS MS_PER_RUN MEAN_STALLS" for one profile and variant.
measure() {  # profile runs [--fixed]
  local profile=$1 n=$2 failed=0 stalls=0 start rc
  shift 2
  start=$(date +%s%N)
  for ((k = 1; k <= n; k++)); do
    rc=0
    TEST_RANDOM_SEED=$k "$starve" --profile="$profile" -- \
      "${command[@]}" "$@" >/dev/null 2>"$log" || rc=$?
    if [ "$rc" -ge 2 ]; then
      echo "run $k of $profile $*: exit $rc" >&2; cat "$log" >&2; exit 1
    fi
    failed=$(( failed + rc ))
    s=$(grep -o '"stalls":[0-9]*' "$log" | tail -1 | cut -d: -f2 || true)
    stalls=$(( stalls + ${s:-0} ))
  done
  echo "$failed $(( ($(date +%s%N) - start) / 1000000 / n )) $(( stalls / n ))"
}

echo "| profile | variant | failed runs | ms per run | vs none | stalls per run |"
echo "|---|---|---:|---:|---:|---:|"
base_ms=
for profile in "${profiles[@]}"; do
  for variant in original fixed; do
    [ "$variant" = fixed ] && [ "$profile" = none ] && continue
    n=$runs; flag=()
    [ "$variant" = fixed ] && n=$fixed_runs && flag=(--fixed)
    [ "$n" -gt 0 ] || continue
    read -r failed ms stalls < <(measure "$profile" "$n" "${flag[@]}")
    [ "$profile" = none ] && base_ms=$ms
    ratio=-
    if [ -n "$base_ms" ]; then
      ratio=$(awk -v a="$ms" -v b="$base_ms" 'BEGIN { printf "%.1fx", a / b }')
    fi
    echo "| $profile | $variant | $failed / $n | $ms | $ratio | $stalls |"
  done
done
