#!/usr/bin/env bash
# `flaky plan` as a user runs it: the runs CLEAN needs under the verdict
# rule, and `--boundaries`, the rule as a table anyone can check outside
# flaky (anytime_test checks the numbers; this checks the command).
set -euo pipefail

flaky="$TEST_SRCDIR/$TEST_WORKSPACE/flaky/flaky"
fail() { echo "FAIL: $*" >&2; exit 1; }

out=$("$flaky" plan --max_rate=0.001 --confidence=0.95)
echo "$out"
grep -q "To claim rate below 0.1% at 95%: 3332 runs with at most 0 failures" <<<"$out" ||
  fail "plan does not give the rule's 3332 runs"
grep -q "one look fixed in advance would need 2995" <<<"$out" || fail "no single-look figure"

# One failure is FLAKY at 0.1% within the first 4 runs, then it takes two;
# no run count this small can be CLEAN.
expected="runs flaky_at_failures clean_at_most_failures
1 1 -1
2 1 -1
3 1 -1
4 1 -1
5 2 -1"
got=$("$flaky" plan --boundaries --up_to=5)
[ "$got" = "$expected" ] || fail "boundaries: got
$got"

# The row where CLEAN begins (FLAKY there takes 10 failures: python3, the
# mixture of anytime.h summed), and the environment twin of the flag.
row=$(FLAKY_UP_TO=3332 "$flaky" plan --boundaries | tail -1)
[ "$row" = "3332 10 0" ] || fail "row 3332: got '$row'"

status=0
"$flaky" plan --boundaries --up_to=0 >"$TEST_TMPDIR/err" 2>&1 || status=$?
[ "$status" -ne 0 ] || fail "--up_to=0 succeeded"
grep -q -- "--up_to must be between 1" "$TEST_TMPDIR/err" || fail "no message for --up_to=0: $(cat "$TEST_TMPDIR/err")"
echo PASS
