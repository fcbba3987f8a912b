#!/usr/bin/env bash
# Measures what the starve wrapper costs Bazel's throughput: the same
# `bazel test //bench:trivial_test --runs_per_test=N --nocache_test_results`
# plain and under --run_under, side by side, in alternating rounds so that
# a change of load hits every variant alike.
# Usage: flaky/starve/measure_wrapper_throughput.sh [N] [ROUNDS] [RUN_UNDER...]
# Each RUN_UNDER is a --run_under value; the default pair is the wrapper as
# `flaky hunt` passes it for --profile=none (exec'd in place) and the same
# with --supervise (fork and wait, what the wrapper did for every profile
# before). Extra Bazel flags come from BAZEL_TEST_FLAGS. Prints a markdown
# table: per variant, each round's runs/s, their median, and the median of
# the per-round ratios to plain: on a shared machine the load moves between
# rounds far more than the wrapper costs, and a round's variants run within
# a minute of each other. Use a multiple of the number of variants as
# ROUNDS (6 by default: two rotations of the three default variants).
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-200}
rounds=${2:-6}
shift $(( $# >= 2 ? 2 : $# ))
variants=("")  # plain
if [ $# -gt 0 ]; then
  variants+=("$@")
else
  variants+=("//flaky/starve:starve --profile=none --record_file=/dev/null --"
             "//flaky/starve:starve --profile=none --supervise --record_file=/dev/null --")
fi
read -ra extra <<<"${BAZEL_TEST_FLAGS:-}"
target=//bench:trivial_test

# Build everything first, so every round measures test runs only.
bazel build "${extra[@]}" "$target" //flaky/starve:starve >/dev/null 2>&1

# Prints the wall seconds of one `bazel test` round.
round_seconds() {  # run_under
  local flags=(--runs_per_test="$runs" --nocache_test_results
               --test_output=summary --test_summary=terse "${extra[@]}")
  [ -n "$1" ] && flags+=("--run_under=$1")
  local start end
  start=$(date +%s.%N)
  if ! bazel test "${flags[@]}" "$target" >/dev/null 2>&1; then
    echo "measure_wrapper_throughput: bazel test failed for --run_under='$1'" >&2
    exit 1
  fi
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f\n", b - a }'
}

# A short round of each first: Bazel's server, the action cache and the
# sandbox base are then as warm for the first measured round as for the last.
for i in "${!variants[@]}"; do
  runs=2 round_seconds "${variants[$i]}" >/dev/null
done

# Round r runs the variants rotated by r, so that each takes each place in
# the order equally often over a multiple of their number of rounds.
declare -A rates ratios
count=${#variants[@]}
for ((r = 0; r < rounds; r++)); do
  declare -A round_rate=()
  for ((k = 0; k < count; k++)); do
    i=$(( (k + r) % count ))
    seconds=$(round_seconds "${variants[$i]}")
    round_rate[$i]=$(awk -v s="$seconds" -v n="$runs" 'BEGIN { printf "%.2f", n / s }')
  done
  for ((i = 0; i < count; i++)); do
    rates[$i]+="${round_rate[$i]} "
    ratios[$i]+="$(awk -v a="${round_rate[$i]}" -v b="${round_rate[0]}" 'BEGIN { printf "%.3f", a / b }') "
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

echo "| how (\`bazel test $target --runs_per_test=$runs --nocache_test_results\`) | runs/s per round | median runs/s | vs plain, per round | median vs plain |"
echo "|---|---|---:|---|---:|"
for i in "${!variants[@]}"; do
  how=${variants[$i]:+--run_under=\'${variants[$i]}\'}
  echo "| ${how:-plain} | ${rates[$i]% } | $(median <<<"${rates[$i]}") | ${ratios[$i]% } | $(median <<<"${ratios[$i]}")x |"
done
