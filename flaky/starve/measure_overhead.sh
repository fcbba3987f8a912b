#!/usr/bin/env bash
# Measures the starve wrapper's own cost per run: N runs of
# `starve --profile=P -- /bin/true` against N runs of `/bin/true`.
# Usage: flaky/starve/measure_overhead.sh PATH_TO_STARVE [N] [PROFILE...]
# A PROFILE may carry wrapper flags after a space ('none --supervise').
# Prints a markdown table: mean wall time and mean CPU time (user+sys of the
# wrapper and the test) per run, and how the wrapper ran the test (exec'd in
# place, or as its supervising parent). On a busy machine trust the CPU
# column. The rows alternate with /bin/true alone, which each row is
# compared with, so a change of load during the measurement hits both.
set -euo pipefail
starve=${1:?usage: measure_overhead.sh PATH_TO_STARVE [N] [PROFILE...]}
runs=${2:-200}
shift $(( $# >= 2 ? 2 : 1 ))
profiles=("$@")
if [ ${#profiles[@]} -eq 0 ]; then
  profiles=(none 'none --supervise' taskset:0 env:X=1 hogs:1 hogs:2 chaos:7
            sched:7,cpu cgroup:20 taskset:0+hogs:2+chaos:7 cgroup:20+hogs:1)
fi

# Prints "WALL_US CPU_US", each per run.
per_run_us() {  # command...
  local TIMEFORMAT='%R %U %S' out
  out=$( { time (for ((i = 0; i < runs; i++)); do "$@" 2>/dev/null; done) ; } 2>&1 )
  awk -v n="$runs" '{ printf "%d %d\n", $1 * 1e6 / n, ($2 + $3) * 1e6 / n }' <<<"$out"
}

# The record's wrapper_pid is the test's own pid exactly when the wrapper
# exec'd it in place.
mode() {  # profile flags...
  local out pid
  out=$("$starve" "--profile=$1" "${@:2}" -- /bin/sh -c 'echo "test $$"' 2>&1) || true
  pid=$(sed -n 's/^test //p' <<<"$out")
  if grep -q "\"wrapper_pid\":${pid}," <<<"$out"; then echo exec; else echo supervised; fi
}

echo "| profile | mode | wall per run (us) | wall overhead (us) | CPU per run (us) | CPU overhead (us) |"
echo "|---|---|---:|---:|---:|---:|"
for entry in "${profiles[@]}"; do
  read -r profile flags <<<"$entry"
  read -ra flag_array <<<"${flags:-}"
  # A profile this machine (or this wrapper) cannot run would only time
  # the error path.
  if ! error=$("$starve" "--profile=${profile}" "${flag_array[@]}" -- /bin/true 2>&1 >/dev/null); then
    echo "| ${entry} | cannot run: $(grep -m1 'error:' <<<"$error" | sed 's/.*error: //') | - | - | - | - |"
    continue
  fi
  read -r base_wall base_cpu < <(per_run_us /bin/true)
  read -r wall cpu < <(per_run_us "$starve" "--profile=${profile}" \
                         "${flag_array[@]}" -- /bin/true)
  echo "| ${entry} | $(mode "$profile" "${flag_array[@]}") | ${wall} | $(( wall - base_wall )) | ${cpu} | $(( cpu - base_cpu )) |"
done
