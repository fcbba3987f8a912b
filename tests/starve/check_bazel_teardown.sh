#!/usr/bin/env bash
# What ends a daemon that a test exec'd in place by the starve wrapper
# leaves running (README.md): runs //tests/starve:leaves_a_daemon_test under
# `--run_under=//flaky/starve:starve --profile=none` with each test
# strategy and reports whether the daemon outlived `bazel test`. First it
# runs the test outside Bazel, where the daemon must survive, so that a
# "killed" below cannot come from a check that sees nothing. Survivors are
# killed by pid. Usage: tests/starve/check_bazel_teardown.sh [STRATEGY...]
# (default: linux-sandbox processwrapper-sandbox local). Exit 1 if a daemon
# survived Bazel.
set -euo pipefail
cd "$(dirname "$0")/../.."
strategies=("$@")
[ ${#strategies[@]} -gt 0 ] || strategies=(linux-sandbox processwrapper-sandbox local)
seconds="86$$.$RANDOM"  # a duration no other process sleeps for

survivors() { pgrep -f "^/bin/sleep ${seconds}$" || true; }

FLAKY_DAEMON_SECONDS=$seconds tests/starve/leaves_a_daemon_test.sh >/dev/null
pids=$(survivors)
if [ -z "$pids" ]; then
  echo "check_bazel_teardown: the daemon started outside Bazel is not visible; cannot check" >&2
  exit 2
fi
kill $pids
echo "outside Bazel: the daemon outlived its test (pid $pids, killed by this script)"

status=0
for strategy in "${strategies[@]}"; do
  bazel test --nocache_test_results --strategy=TestRunner="$strategy" \
    --run_under='//flaky/starve:starve --profile=none --' \
    --test_env=FLAKY_DAEMON_SECONDS="$seconds" \
    //tests/starve:leaves_a_daemon_test >/dev/null 2>&1 || {
      echo "check_bazel_teardown: bazel test failed under $strategy" >&2
      exit 2
    }
  pids=$(survivors)
  if [ -n "$pids" ]; then
    echo "$strategy: the daemon OUTLIVED the run (pid $pids, killed by this script)"
    kill $pids
    status=1
  else
    echo "$strategy: the daemon was killed with the run"
  fi
done
exit $status
