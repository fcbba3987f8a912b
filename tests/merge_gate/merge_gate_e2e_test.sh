#!/usr/bin/env bash
# End-to-end test of the merge gate as a user runs it: a temporary git
# repository holding a small workspace that loads this checkout as @flaky
# (local_repository + flaky_dependencies), two clean tests committed, then
#   - a change to docs only: the gate finds no affected test and exits 0;
#   - a change that makes //calc:calc_test flaky: the gate selects only that
#     test (not //other:other_test), runs the real `flaky gate` on it and
#     exits 1 with the test named in report.md.
# Everything is real: git, nested Bazel (one output base, reused by every
# step and shut down at the end), merge_gate_main and `flaky gate`.
#
# Run it: bazel test //tests/merge_gate:merge_gate_e2e_test (tagged manual),
# or directly: tests/merge_gate/merge_gate_e2e_test.sh. Set FLAKY_E2E_DIR
# to a directory to keep the nested workspace's path and Bazel output base
# between runs, so a rerun reuses the build (the first run builds flaky
# inside it: about 5 minutes on 2 cores; a rerun about 1).
set -euo pipefail

checkout=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
own_tmp=0
if [ -n "${TEST_TMPDIR:-}" ]; then
  tmp=$TEST_TMPDIR
else
  tmp=$(mktemp -d /tmp/flaky-merge-gate-e2e.XXXXXX)
  own_tmp=1
fi
# Bazel keys its cache on the workspace path too: keep both stable.
state=${FLAKY_E2E_DIR:-$tmp}
ws=$state/ws
output_base=$state/output_base
rm -rf "$ws"
export GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=flaky GIT_AUTHOR_EMAIL=flaky@example.invalid
export GIT_COMMITTER_NAME=flaky GIT_COMMITTER_EMAIL=flaky@example.invalid
export HOME=${HOME:-$tmp}

cleanup() {
  local status=$?
  if [ -d "$ws" ]; then
    (cd "$ws" && bazel --output_base="$output_base" shutdown >/dev/null 2>&1) || true
  fi
  # Keep the logs and reports of a failed run for a look; drop a passed one.
  if [ "$own_tmp" -eq 1 ]; then
    if [ "$status" -eq 0 ]; then rm -rf "$tmp"; else echo "logs and reports kept in $tmp" >&2; fi
  fi
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

step() { echo "=== $(date -u +%H:%M:%S) $*"; }

write() {  # write PATH < text
  mkdir -p "$(dirname "$ws/$1")"
  cat >"$ws/$1"
}

step "workspace in $ws using @flaky from $checkout"
mkdir -p "$ws"
write WORKSPACE <<EOT
workspace(name = "consumer")

local_repository(name = "flaky", path = "$checkout")

load("@flaky//third_party:repositories.bzl", "flaky_dependencies")

flaky_dependencies()
EOT
write .bazelrc <<EOT
startup --output_base=$output_base
build --cxxopt=-std=c++17 --host_cxxopt=-std=c++17
build --sandbox_debug=false
EOT
write .gitignore <<'EOT'
/bazel-*
/flaky.db*
EOT
write README.md <<'EOT'
A calculator.
EOT
write calc/BUILD.bazel <<'EOT'
load("@rules_cc//cc:defs.bzl", "cc_library", "cc_test")

cc_library(
    name = "calc",
    srcs = ["calc.cc"],
    hdrs = ["calc.h"],
)

cc_test(
    name = "calc_test",
    size = "small",
    srcs = ["calc_test.cc"],
    deps = [
        ":calc",
        "@com_google_googletest//:gtest_main",
    ],
)
EOT
write calc/calc.h <<'EOT'
#ifndef CALC_CALC_H_
#define CALC_CALC_H_
int Add(int a, int b);
#endif  // CALC_CALC_H_
EOT
write calc/calc.cc <<'EOT'
#include "calc/calc.h"

int Add(int a, int b) { return a + b; }
EOT
write calc/calc_test.cc <<'EOT'
#include "calc/calc.h"

#include "gtest/gtest.h"

TEST(Calc, AddsTwoAndTwo) { EXPECT_EQ(Add(2, 2), 4); }
EOT
write other/BUILD.bazel <<'EOT'
load("@rules_cc//cc:defs.bzl", "cc_test")

cc_test(
    name = "other_test",
    size = "small",
    srcs = ["other_test.cc"],
    deps = ["@com_google_googletest//:gtest_main"],
)
EOT
write other/other_test.cc <<'EOT'
#include "gtest/gtest.h"

TEST(Other, Passes) { EXPECT_TRUE(true); }
EOT
cd "$ws"
git init -q
git add -A
git commit -q -m "a calculator with two clean tests"
base=$(git rev-parse HEAD)

# merge_gate_main as a user of @flaky runs it; it runs `bazel query` and
# `bazel run @flaky//flaky:flaky -- gate` in this workspace in turn.
merge_gate() {
  bazel run @flaky//flaky/merge_gate:merge_gate_main -- --base="$base" "$@"
}

step "build merge_gate_main in the nested workspace"
bazel build @flaky//flaky/merge_gate:merge_gate_main

step "a change that touches no test"
git checkout -q -b docs "$base"
echo "A calculator that adds." >README.md
git commit -q -am "docs"
status=0
merge_gate --report_dir="$tmp/docs" >"$tmp/docs.log" 2>&1 || status=$?
cat "$tmp/docs.log"
[ "$status" -eq 0 ] || fail "docs change: merge gate exited $status, want 0"
grep -q "merge gate: no affected tests: nothing to gate, passing" "$tmp/docs.log" ||
  fail "docs change: the merge gate did not say that no test is affected"
grep -q "PASS (no affected tests)" "$tmp/docs/report.md" ||
  fail "docs change: report.md does not say PASS (no affected tests)"

step "a change that makes //calc:calc_test flaky"
git checkout -q -b flaky-add "$base"
write calc/calc.cc <<'EOT'
#include "calc/calc.h"

#include <cstdlib>
#include <unistd.h>

// A "fast path" that is wrong on every second run: flaky as a race is, but
// on a fixed schedule (Bazel sets TEST_RANDOM_SEED to the run number under
// --runs_per_test). Without the variable the process id decides, and 20
// runs all pass with probability 2^-20.
int Add(int a, int b) {
  const char* seed = std::getenv("TEST_RANDOM_SEED");
  long run = seed != nullptr ? std::atol(seed) : static_cast<long>(getpid());
  return run % 2 == 0 ? a + b + 1 : a + b;
}
EOT
git commit -q -am "a faster Add"
listed=$(merge_gate --list 2>"$tmp/list.log") || { cat "$tmp/list.log"; fail "merge gate --list failed"; }
[ "$listed" = "//calc:calc_test" ] ||
  fail "flaky change: --list printed '$listed', want exactly //calc:calc_test"
status=0
merge_gate --report_dir="$tmp/flaky" --profiles=none --runs=20 >"$tmp/flaky.log" 2>&1 || status=$?
cat "$tmp/flaky.log"
grep -q "merge gate: 1 affected test(s): //calc:calc_test$" "$tmp/flaky.log" ||
  fail "flaky change: the merge gate did not select exactly //calc:calc_test"
grep -q '"//calc:calc_test"' "$tmp/flaky/merge_gate.json" ||
  fail "flaky change: merge_gate.json does not list //calc:calc_test"
if grep -q "other_test" "$tmp/flaky/merge_gate.json"; then
  fail "flaky change: //other:other_test was selected though nothing it depends on changed"
fi
[ "$status" -eq 1 ] || fail "flaky change: merge gate exited $status, want 1 (FLAKY)"
[ -f "$tmp/flaky/report.md" ] || fail "flaky change: the gate wrote no report.md"
grep -q "//calc:calc_test" "$tmp/flaky/report.md" ||
  fail "flaky change: report.md does not name //calc:calc_test"
for report in report.json report.junit.xml; do
  [ -f "$tmp/flaky/$report" ] || fail "flaky change: the gate wrote no $report"
done

step "PASS"
