#!/bin/sh
# A stand-in for `bazel` that lets tests drive the real `flaky` binary
# without nested Bazel. It answers what flaky asks, as Bazel would:
#   query --output=label_kind EXPR  every //label in EXPR is a cc_test, except
#                                   labels containing "no_such", which fail
#                                   the query with Bazel's error (exit 7);
#   build                           succeeds at once;
#   test --runs_per_test=N ...      writes N runs of every target after `--`
#                                   (test.xml with one case, Suite.Race,
#                                   taking 0.25 s; test.log; a BEP line
#                                   each), then exits 3 if one failed, else 0.
# The environment scripts the runs:
#   FAKE_BAZEL_FAIL=LABEL   runs of LABEL fail ("all": every target's);
#   FAKE_BAZEL_HANG=MARK    after writing the first round, write MARK.ready
#                           and keep running until SIGINT, which writes
#                           "interrupted" to MARK and exits 8 like Bazel.
bep=""
runs=1
targets=""
after_dash=""
for arg in "$@"; do
  if [ -n "$after_dash" ]; then
    targets="$targets $arg"
    continue
  fi
  case "$arg" in
    --build_event_json_file=*) bep="${arg#--build_event_json_file=}" ;;
    --runs_per_test=*) runs="${arg#--runs_per_test=}" ;;
    --) after_dash=1 ;;
  esac
done

case " $* " in
  *" query "*"--output=label_kind"*)
    eval "expression=\${$#}"
    for word in $(echo "$expression" | tr '()+' '   '); do
      case "$word" in
        //*no_such*)
          echo "ERROR: no such target '$word': target '${word#*:}' not declared in package 't'" >&2
          exit 7 ;;
        //*) labels="$labels $word" ;;
      esac
    done
    for label in $(printf '%s\n' $labels | sort -u); do echo "cc_test rule $label"; done
    exit 0 ;;
  *" query "*) exit 0 ;;
  *" build "*) exit 0 ;;
  *" test "*) ;;
  *) echo "scripted bazel: unexpected command: $*" >&2; exit 2 ;;
esac

dir="$(dirname "$bep")/testlogs.$$"
printf '%s\n' '{"id":{"started":{}},"started":{"command":"test"}}' > "$bep"
any_failed=0
run=1
while [ "$run" -le "$runs" ]; do
  for target in $targets; do
    out="$dir/$(echo "$target" | tr '/:' '__')/run_$run"
    mkdir -p "$out"
    status=PASSED
    failure=""
    if [ "$FAKE_BAZEL_FAIL" = all ] || [ "$FAKE_BAZEL_FAIL" = "$target" ]; then
      status=FAILED
      any_failed=1
      failure='<failure message="race.cc:9&#x0A;lost the race" type=""></failure>'
    fi
    cat > "$out/test.xml" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="1" name="AllTests"><testsuite name="Suite" tests="1">
<testcase name="Race" status="run" result="completed" time="0.25" classname="Suite">$failure</testcase>
</testsuite></testsuites>
XML
    echo "[ RUN      ] Suite.Race" > "$out/test.log"
    printf '{"id":{"testResult":{"label":"%s","run":%s,"shard":1,"attempt":1}},"testResult":{"testActionOutput":[{"name":"test.log","uri":"file://%s/test.log"},{"name":"test.xml","uri":"file://%s/test.xml"}],"testAttemptDurationMillis":"250","status":"%s","testAttemptStartMillisEpoch":"1795801329982"}}\n' \
      "$target" "$run" "$out" "$out" "$status" >> "$bep"
  done
  run=$((run + 1))
done

if [ -n "$FAKE_BAZEL_HANG" ]; then
  trap 'echo interrupted > "$FAKE_BAZEL_HANG"; exit 8' INT
  echo ready > "$FAKE_BAZEL_HANG.ready"
  while :; do sleep 0.1; done
fi
if [ "$any_failed" = 1 ]; then
  printf '%s\n' '{"id":{"buildFinished":{}},"finished":{"exitCode":{"name":"TESTS_FAILED","code":3}}}' >> "$bep"
  exit 3
fi
printf '%s\n' '{"id":{"buildFinished":{}},"finished":{"exitCode":{"name":"SUCCESS"}}}' >> "$bep"
exit 0
