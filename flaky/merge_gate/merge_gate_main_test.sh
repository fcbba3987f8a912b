#!/usr/bin/env bash
# merge_gate_main as CI calls it, on a real git repository: the exit codes
# and one-line errors for bad input, FLAKY_<FLAG> twins, and the passing
# path when no changed file belongs to a Bazel package (no bazel needed).
set -euo pipefail

main="$TEST_SRCDIR/$TEST_WORKSPACE/flaky/merge_gate/merge_gate_main"
export GIT_CONFIG_NOSYSTEM=1 HOME="$TEST_TMPDIR"
export GIT_AUTHOR_NAME=flaky GIT_AUTHOR_EMAIL=flaky@example.invalid
export GIT_COMMITTER_NAME=flaky GIT_COMMITTER_EMAIL=flaky@example.invalid
ws="$TEST_TMPDIR/ws"
mkdir -p "$ws/docs"
cd "$ws"
echo 'workspace(name = "docs_only")' >WORKSPACE
echo "Notes." >docs/notes.md
git init -q && git add -A && git commit -q -m base
git tag base
echo "More notes." >>docs/notes.md
git commit -q -am notes

fail() { echo "FAIL: $*" >&2; exit 1; }

# expect CODE MESSAGE -- COMMAND...: runs COMMAND, checks its exit code and
# that its output contains MESSAGE.
expect() {
  local want=$1 message=$2
  shift 3
  local status=0
  "$@" >"$TEST_TMPDIR/out" 2>&1 || status=$?
  cat "$TEST_TMPDIR/out"
  [ "$status" -eq "$want" ] || fail "$* exited $status, want $want"
  grep -qF -- "$message" "$TEST_TMPDIR/out" || fail "$* did not say: $message"
}

expect 3 "merge gate: error: no base revision: pass the branch the change merges into" -- "$main"
expect 3 "merge gate: error: unknown base revision 'origin/nope'" -- "$main" --base=origin/nope
expect 3 "merge gate: error: --runs and --budget are exclusive" -- "$main" --base=base --runs=5 --budget=60s
expect 3 "merge gate: error: unexpected argument '//app:test'" -- "$main" --base=base //app:test
expect 3 "merge gate: error: FLAKY_RUNS=many is not a valid --runs" -- env FLAKY_RUNS=many "$main" --base=base
# A typo'd flag or value is a usage error (3), never absl's exit 1 (FLAKY).
expect 3 "merge gate: error: unknown flag --bogus_flag" -- "$main" --base=base --bogus_flag
expect 3 "merge gate: error: unknown flag --runz (did you mean --runs?)" -- "$main" --base=base --runz=5
expect 3 "merge gate: error: --runs=abc is not a valid --runs" -- "$main" --base=base --runs=abc
expect 0 "FLAKY_<FLAG> environment twin" -- "$main" --help
expect 3 "is not a Bazel workspace (no WORKSPACE file)" -- "$main" --base=base --workspace=docs

# The change touches docs only: nothing to gate, passing, and the base may
# come from the environment twin. The report directory is relative to where
# the command was started.
mkdir -p "$TEST_TMPDIR/elsewhere"
cd "$TEST_TMPDIR/elsewhere"
expect 0 "merge gate: no affected tests: nothing to gate, passing" -- \
  env FLAKY_BASE=base "$main" --workspace="$ws" --report_dir=out
grep -qF "PASS (no affected tests)" out/report.md || fail "report.md does not say PASS"
grep -qF -- '- `docs/notes.md`' out/report.md || fail "report.md does not list the changed file"
grep -qF '"base_revision": "base"' out/merge_gate.json || fail "merge_gate.json lacks the base"
# The command line wins over the environment.
expect 3 "unknown base revision 'origin/nope'" -- \
  env FLAKY_BASE=base "$main" --workspace="$ws" --base=origin/nope
echo PASS
