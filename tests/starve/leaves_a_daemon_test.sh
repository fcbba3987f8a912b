#!/bin/sh
# A test that starts a `setsid` daemon and passes: whatever ends the daemon
# is the run's teardown (check_bazel_teardown.sh looks for it afterwards).
# The daemon sleeps for $FLAKY_DAEMON_SECONDS, a number unique to the check,
# so that the host can find it by its command line.
set -eu
fifo="${TEST_TMPDIR:-/tmp}/daemon-ready.$$"
mkfifo "$fifo"
setsid /bin/sh -c 'echo started > "$0"; exec /bin/sleep "$1"' \
  "$fifo" "${FLAKY_DAEMON_SECONDS:?}" </dev/null >/dev/null 2>&1 &
read -r started < "$fifo"
rm -f "$fifo"
echo "daemon $started: /bin/sleep ${FLAKY_DAEMON_SECONDS}"
