#!/bin/sh
# Regenerates the committed test data from the manual fixtures in this
# package with the workspace's own Bazel. Run from the workspace root:
#   flaky/results/testdata/generate.sh [OUTPUT_BASE [OUT_DIR]]
# Bazel exits non-zero on purpose (the fixtures fail and time out). The
# tests assert values of the committed files (completion order, durations,
# start times, line numbers): after regenerating in place, update them.
set -u
ob=${1:-/root/.cache/bazel-ob/results}
pkg=flaky/results/testdata
out=${2:-$pkg}
mkdir -p "$out"
bazel() { command bazel --output_base="$ob" "$@"; }
common="--symlink_prefix=/ --nocache_test_results --test_output=summary"

bazel test $common --runs_per_test=3 \
  --build_event_json_file="$out/bep_runs_per_test.json" \
  //$pkg:fixture_test //$pkg:plain_test
bazel test $common --runs_per_test=2 \
  --build_event_json_file="$out/bep_sharded.json" //$pkg:sharded_test
bazel test $common --test_timeout=2 \
  --build_event_json_file="$out/bep_timeout.json" //$pkg:timeout_test
bazel test $common --test_arg=--gtest_repeat=3 \
  --build_event_json_file="$out/bep_gtest_repeat.json" //$pkg:fixture_test

# Copy each run's test.xml/test.log as named by the BEP. The BEP's shard is
# counted from 1 (1 when the target is not sharded). run_K_of_N directories
# differ between the invocations above, so none overwrote another.
copy() {  # copy BEP_FILE TARGET RUN SHARD NAME DEST
  uri=$(jq -r --arg l "//$pkg:$2" --argjson r "$3" --argjson s "$4" --arg n "$5" \
    'select(.id.testResult.label == $l and .id.testResult.run == $r
            and .id.testResult.shard == $s)
     | .testResult.testActionOutput[] | select(.name == $n) | .uri' "$1")
  [ -n "$uri" ] || { echo "generate.sh: no $5 for $2 run $3 shard $4 in $1" >&2; exit 1; }
  cp "${uri#file://}" "$out/$6" && chmod 644 "$out/$6"
}
copy $out/bep_runs_per_test.json fixture_test 2 1 test.xml fixture_run2_fail.xml
copy $out/bep_runs_per_test.json fixture_test 2 1 test.log fixture_run2_fail.log
copy $out/bep_runs_per_test.json fixture_test 1 1 test.xml fixture_run1_pass.xml
copy $out/bep_runs_per_test.json plain_test 2 1 test.xml plain_run2_fail.xml
copy $out/bep_runs_per_test.json plain_test 1 1 test.xml plain_run1_pass.xml
copy $out/bep_sharded.json sharded_test 1 2 test.xml sharded_shard2_run1_fail.xml
copy $out/bep_timeout.json timeout_test 1 1 test.xml timeout.xml
copy $out/bep_timeout.json timeout_test 1 1 test.log timeout.log
copy $out/bep_gtest_repeat.json fixture_test 1 1 test.xml gtest_repeat.xml
copy $out/bep_gtest_repeat.json fixture_test 1 1 test.log gtest_repeat.log

# Scrub the sandbox's debug chatter (this machine runs Bazel with
# --sandbox_debug): it names host mounts and is noise for the parsers.
for f in $out/*.log $out/*.xml; do
  sed -i -e '/^[0-9.]*: src\/main\/tools\/linux-sandbox.*\]\]>$/{s/.*/]]>/;b;}' \
    -e '/^[0-9.]*: src\/main\/tools\/linux-sandbox/d' "$f"
done
for f in $out/bep_*.json; do
  jq -c 'if .progress then .progress |= del(.stderr, .stdout) else . end' \
    "$f" > "$f.tmp" && mv "$f.tmp" "$f"
done

# Damaged copies, as a killed Bazel or a broken disk leaves them:
#   bep_truncated.json      lines 1-24 (3 testResults), then half of line 25
#   bep_garbage_middle.json line 23 replaced by non-JSON
#   bep_empty.json, empty.xml  zero bytes
#   truncated.xml           fixture_run2_fail.xml cut inside the <failure>
#   malformed.xml           mismatched closing tag
b=$out/bep_runs_per_test.json
{ head -n 24 "$b"; sed -n 25p "$b" | head -c 150; } > $out/bep_truncated.json
sed '23s/.*/{"id":{"testResult":{"label":"\/\/x:y", GARBAGE/' "$b" > $out/bep_garbage_middle.json
: > $out/bep_empty.json
: > $out/empty.xml
head -c 900 $out/fixture_run2_fail.xml > $out/truncated.xml
sed 's#</testsuite>#</testsuit>#' $out/fixture_run1_pass.xml > $out/malformed.xml
