#!/usr/bin/env bash
# Measures the foreign race tests of bench/foreign/BUILD.bazel under the
# starvation profiles, side by side, through the real wrapper (`flaky hunt`
# runs `bazel test --runs_per_test=N --nocache_test_results
# --run_under=//flaky/starve:starve ...` with the processwrapper sandbox):
#   1. detection: every race target (the `_original`s and the races Debian
#      ships unfixed) under every profile, RUNS runs each, one run at a time
#      (--local_test_jobs=1) so that a run's time and starvation are its own;
#   2. verification: every `_fixed` target, FIXED_RUNS runs under the profile
#      that failed its `_original` most often in 1 (when none did, the
#      profile named in `pairs` below: the one meant to expose that race),
#      two runs at a time (Bazel's default here: more load, not less).
# Chaos profiles are skipped for the Go targets: they are static binaries,
# in which the preloaded shim cannot act, so the wrapper refuses chaos there.
# Prints the table (target x profile: failures/runs, seconds per run as
# Bazel timed the test attempt, wrapper included, and the ratio to `none`)
# and writes it to bench-out/foreign/results.md; every trial stays in
# bench-out/foreign/foreign.db, every hunt's output in bench-out/foreign/logs.
# About 60 minutes with the defaults on 2 cores. Do not run it next to
# other benchmarks: their load is part of what it measures.
# Usage: bench/foreign/measure.sh [--runs=N] [--fixed_runs=N]
#          [--profiles='P;P;...'] [--targets=NAME,...]
# --fixed_runs=0 skips the verification.
set -euo pipefail
cd "$(dirname "$0")/../.."

runs=30
fixed_runs=300
profiles='none;chaos:1;chaos:5,p=20,ms=5-10,cap=30;hogs:2;cgroup:20'
# RACE_TARGET=FIXED_TWIN@PROFILE: the twin is empty for races Debian ships
# unfixed; PROFILE verifies the twin when no profile failed the race.
pairs=(
  cpython_already_running_original=cpython_already_running_fixed@chaos:5,p=20,ms=5-10,cap=30
  cpython_still_running_original=cpython_still_running_fixed@chaos:5,p=20,ms=5-10,cap=30
  cpython_idle_thread_reuse=
  go_after_queuing_original=go_after_queuing_fixed@hogs:2
)
only=""
for arg in "$@"; do
  case "$arg" in
    --runs=*) runs=${arg#*=} ;;
    --fixed_runs=*) fixed_runs=${arg#*=} ;;
    --profiles=*) profiles=${arg#*=} ;;
    --targets=*) only=",${arg#*=}," ;;
    *) echo "measure.sh: unknown argument $arg (see the usage at the top of bench/foreign/measure.sh)" >&2
       exit 2 ;;
  esac
done

# The Debian packages the targets run from; one line to fix what is missing.
missing=()
for package in libpython3.11-testsuite golang-1.19-go; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "measure.sh: missing Debian packages: run apt-get install ${missing[*]}" >&2
  exit 1
fi

out=bench-out/foreign
if [ -e "$out" ]; then
  mv "$out" "$out.$(date -u +%Y%m%dT%H%M%S)"
fi
mkdir -p "$out/logs"
store="$PWD/$out/foreign.db"
log() { echo "measure.sh: $*" >&2; }

labels=()
for pair in "${pairs[@]}"; do
  original=${pair%%=*} fixed=${pair#*=}
  fixed=${fixed%%@*}
  if [ -n "$only" ] && [[ "$only" != *",$original,"* ]]; then continue; fi
  labels+=("//bench/foreign:$original")
  [ -n "$fixed" ] && labels+=("//bench/foreign:$fixed")
done
log "building $(( ${#labels[@]} )) targets, flaky and the wrapper"
bazel build //flaky //flaky/starve:starve "${labels[@]}" >"$out/logs/build.log" 2>&1 ||
  { grep -E '^bench/foreign|ERROR' "$out/logs/build.log" | head -5 >&2; log "build failed (log: $out/logs/build.log)"; exit 1; }
flaky="$(bazel info bazel-bin 2>/dev/null)/flaky/flaky"

# hunt NAME ARGS...: one `flaky hunt` into the store. Exit 1 (FLAKY) and 2
# (undecided) are results; anything else stops the measurement.
hunt() {
  local name=$1 status=0
  shift
  "$flaky" hunt --store="$store" --hunt_id="$name" "$@" >"$out/logs/$name.log" 2>&1 || status=$?
  if [ $status -gt 2 ]; then
    tail -15 "$out/logs/$name.log" >&2
    log "hunt $name failed with exit $status (log: $out/logs/$name.log)"
    exit 1
  fi
  log "$name: $(grep -Eo '[0-9]+ runs?, [0-9]+ failed' "$out/logs/$name.log" | tail -1)"
}

start=$(date +%s)
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
for pair in "${pairs[@]}"; do
  original=${pair%%=*}
  if [ -n "$only" ] && [[ "$only" != *",$original,"* ]]; then continue; fi
  these=$(tr ';' '\n' <<<"$profiles" | { [[ $original == go_* ]] && grep -v '^chaos' || cat; } | paste -sd, -)
  hunt "detect.$original" "//bench/foreign:$original" --profiles="$these" --runs="$runs" \
    -- --local_test_jobs=1
done

# sql QUERY: one query against the store, '|'-separated rows.
sql() { sqlite3 -batch -noheader "$store" "$1"; }
verified=()
for pair in "${pairs[@]}"; do
  original=${pair%%=*} fixed=${pair#*=}
  fallback=${fixed#*@} fixed=${fixed%%@*}
  if [ -z "$fixed" ] || [ "$fixed_runs" -eq 0 ] || { [ -n "$only" ] && [[ "$only" != *",$original,"* ]]; }; then continue; fi
  profile=$(sql "SELECT profile FROM trials WHERE target = '//bench/foreign:$original'
                 GROUP BY profile HAVING SUM(outcome != 'pass') > 0
                 ORDER BY AVG(outcome != 'pass') DESC, MIN(id) LIMIT 1")
  profile=${profile:-$fallback}
  hunt "verify.$fixed" "//bench/foreign:$fixed" --profiles="$profile" --runs="$fixed_runs"
  verified+=("//bench/foreign:$fixed under \`$profile\`")
done

{
  echo "# bench/foreign/measure.sh $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "Command: \`bench/foreign/measure.sh $*\` at commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- bench/foreign || echo ' (bench/foreign changed)'),"
  echo "$(nproc) CPUs, load average $load_at_start at the start and $(cut -d' ' -f1-3 /proc/loadavg) at the end, $(( ($(date +%s) - start) / 60 )) minutes."
  echo "Detection: $runs runs per target and profile, one at a time; verification: $( [ "$fixed_runs" -eq 0 ] && echo skipped || echo "$fixed_runs runs of each fixed twin, two at a time")."
  echo "A run fails when any of its test cases fails."
  echo "s/run: Bazel's test attempt duration (wrapper and interpreter start included); x none: its ratio to the target's \`none\` (for a fixed twin, its original's)."
  echo
  echo "| target | profile | failures/runs | s/run | x none |"
  echo "|---|---|---:|---:|---:|"
  # One row per run (a run may hold several test cases); a fixed twin's
  # time is compared with its original's `none`.
  sql "WITH cells AS (
         SELECT target, profile, SUM(failed_run) AS failed, COUNT(*) AS runs,
                AVG(duration_us) / 1e6 AS seconds, MIN(id) AS first
         FROM (SELECT target, profile, MAX(outcome != 'pass') AS failed_run,
                      MAX(duration_us) AS duration_us, MIN(id) AS id
               FROM trials GROUP BY hunt_id, target, profile, run)
         GROUP BY target, profile)
       SELECT '| ' || REPLACE(c.target, '//bench/foreign:', '') || ' | \`' || c.profile || '\` | ' ||
              c.failed || '/' || c.runs || ' | ' || printf('%.2f', c.seconds) || ' | ' ||
              CASE WHEN n.seconds IS NULL THEN '-' ELSE printf('%.1f', c.seconds / n.seconds) END || ' |'
       FROM cells c LEFT JOIN cells n
         ON n.target = REPLACE(c.target, '_fixed', '_original') AND n.profile = 'none'
       ORDER BY c.target LIKE '%_fixed', c.target, c.first"
  echo
  if [ ${#verified[@]} -gt 0 ]; then
    echo "Fixed twins verified: ${verified[*]}."
  fi
} >"$out/results.md"
cat "$out/results.md"
