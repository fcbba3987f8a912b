#!/usr/bin/env bash
# Measures the starve wrapper's own cost per run: N runs of
# `starve --profile=P -- /bin/true` against N runs of `/bin/true`.
# Usage: flaky/starve/measure_overhead.sh PATH_TO_STARVE [N] [PROFILE...]
# Prints a markdown table: mean wall time and mean CPU time (user+sys of the
# wrapper and the test) per run. On a busy machine trust the CPU column.
set -euo pipefail
starve=${1:?usage: measure_overhead.sh PATH_TO_STARVE [N] [PROFILE...]}
runs=${2:-200}
shift $(( $# >= 2 ? 2 : 1 ))
profiles=("$@")
if [ ${#profiles[@]} -eq 0 ]; then
  profiles=(none taskset:0 env:X=1 hogs:1 hogs:2 chaos:7 cgroup:20
            taskset:0+hogs:2+chaos:7 cgroup:20+hogs:1)
fi

# Prints "WALL_US CPU_US", each per run.
per_run_us() {  # command...
  local TIMEFORMAT='%R %U %S' out
  out=$( { time (for ((i = 0; i < runs; i++)); do "$@" 2>/dev/null; done) ; } 2>&1 )
  awk -v n="$runs" '{ printf "%d %d\n", $1 * 1e6 / n, ($2 + $3) * 1e6 / n }' <<<"$out"
}

read -r base_wall base_cpu < <(per_run_us /bin/true)
echo "| profile | wall per run (us) | wall overhead (us) | CPU per run (us) | CPU overhead (us) |"
echo "|---|---:|---:|---:|---:|"
echo "| /bin/true alone | ${base_wall} | 0 | ${base_cpu} | 0 |"
for profile in "${profiles[@]}"; do
  read -r wall cpu < <(per_run_us "$starve" "--profile=${profile}" -- /bin/true)
  echo "| ${profile} | ${wall} | $(( wall - base_wall )) | ${cpu} | $(( cpu - base_cpu )) |"
done
