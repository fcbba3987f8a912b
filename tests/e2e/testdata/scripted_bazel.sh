#!/bin/sh
# A stand-in for `bazel` that lets tests drive the real `flaky` binary
# without nested Bazel. It answers what flaky asks, as Bazel would:
#   query --output=label_kind EXPR  every //label in EXPR is a cc_test, except
#                                   labels containing "no_such", which fail
#                                   the query with Bazel's error (exit 7);
#   query --output=xml EXPR         every //label in EXPR a cc_test rule;
#   info bazel-bin                  an empty directory (no test binaries);
#   build                           succeeds at once;
#   test --runs_per_test=N ...      writes N runs of every target after `--`
#                                   (test.xml with one case, Suite.Race,
#                                   taking 0.25 s; test.log; a BEP line
#                                   each, starting now), then exits 3 if one
#                                   failed, else 0.
#                                   SIGINT ends it after the current run with
#                                   exit 8, as Bazel cancels.
# The environment scripts the runs:
#   FAKE_BAZEL_FAIL=LABEL   runs of LABEL fail ("all": every target's);
#   FAKE_BAZEL_HANG=MARK    after writing the first round, write MARK.ready
#                           and keep running until SIGINT, which writes
#                           "interrupted" to MARK and exits 8 like Bazel;
#   FAKE_BAZEL_IGNORE_INT=1 with HANG: a Bazel slow to cancel, which only
#                           notes each SIGINT in MARK and keeps running;
#   FAKE_BAZEL_PACE=SECONDS sleep before each run, so a hunt takes a while;
#   FAKE_BAZEL_GATE=FILE    an invocation after a hunt's first round waits
#                           for FILE to exist before its first run;
#   FAKE_BAZEL_CASE=NAME    the test case's name instead of Race (any bytes);
#   FAKE_BAZEL_LOG_FILE=F   F's contents are appended to every test.log;
#   FAKE_BAZEL_RUN_UNDER=P  the program --run_under's label stands for (the
#                           starve wrapper): each run executes it with the
#                           flags --run_under gives it, around a test that
#                           exits 1 when the run fails, its output in
#                           test.log, as Bazel's test runner would.
bep=""
runs=1
targets=""
after_dash=""
run_under=""
for arg in "$@"; do
  if [ -n "$after_dash" ]; then
    targets="$targets $arg"
    continue
  fi
  case "$arg" in
    --build_event_json_file=*) bep="${arg#--build_event_json_file=}" ;;
    --runs_per_test=*) runs="${arg#--runs_per_test=}" ;;
    --run_under=*) run_under="${arg#--run_under=}" ;;
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
  *" query "*"--output=xml"*)
    # What --mode=direct asks: every label a cc_test rule.
    eval "expression=\${$#}"
    echo '<?xml version="1.0" encoding="UTF-8" standalone="no"?>'
    echo '<query version="2">'
    for word in $(echo "$expression" | tr '()+' '   '); do
      case "$word" in //*) echo "  <rule class=\"cc_test\" name=\"$word\"/>" ;; esac
    done
    echo '</query>'
    exit 0 ;;
  *" query "*) exit 0 ;;
  *" info "*"bazel-bin"*)
    # A bazel-bin that holds no test binary: nothing was really built.
    mkdir -p "$PWD/scripted-bazel-bin" && echo "$PWD/scripted-bazel-bin"
    exit 0 ;;
  *" build "*) exit 0 ;;
  *" test "*) ;;
  *) echo "scripted bazel: unexpected command: $*" >&2; exit 2 ;;
esac

interrupted=""
trap 'interrupted=1' INT
if [ -n "$FAKE_BAZEL_GATE" ]; then
  case "$bep" in
    */round1.bep.json) ;;
    *) while [ ! -e "$FAKE_BAZEL_GATE" ] && [ -z "$interrupted" ]; do sleep 0.05; done ;;
  esac
fi
# The wrapper's flags: --run_under's words after the label.
wrapper_flags=""
if [ -n "$FAKE_BAZEL_RUN_UNDER" ] && [ -n "$run_under" ]; then
  wrapper_flags="${run_under#* }"
fi
case_name="${FAKE_BAZEL_CASE:-Race}"
dir="$(dirname "$bep")/testlogs.$$"
printf '%s\n' '{"id":{"started":{}},"started":{"command":"test"}}' > "$bep"
any_failed=0
run=1
while [ "$run" -le "$runs" ] && [ -z "$interrupted" ]; do
  if [ -n "$FAKE_BAZEL_PACE" ]; then sleep "$FAKE_BAZEL_PACE"; fi
  for target in $targets; do
    out="$dir/$(echo "$target" | tr '/:' '__')/run_$run"
    mkdir -p "$out"
    status=PASSED
    failure=""
    code=0
    if [ "$FAKE_BAZEL_FAIL" = all ] || [ "$FAKE_BAZEL_FAIL" = "$target" ]; then
      status=FAILED
      any_failed=1
      code=1
      failure='<failure message="race.cc:9&#x0A;lost the race" type=""></failure>'
    fi
    cat > "$out/test.xml" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="1" name="AllTests"><testsuite name="Suite" tests="1">
<testcase name="$case_name" status="run" result="completed" time="0.25" classname="Suite">$failure</testcase>
</testsuite></testsuites>
XML
    echo "[ RUN      ] Suite.$case_name" > "$out/test.log"
    if [ -n "$wrapper_flags" ]; then
      # shellcheck disable=SC2086  # the flags are words, as Bazel splits them
      TEST_RANDOM_SEED=$run TEST_TMPDIR="$out" \
        "$FAKE_BAZEL_RUN_UNDER" $wrapper_flags /bin/sh -c "exit $code" >> "$out/test.log" 2>&1
    fi
    if [ -n "$FAKE_BAZEL_LOG_FILE" ]; then cat "$FAKE_BAZEL_LOG_FILE" >> "$out/test.log"; fi
    printf '{"id":{"testResult":{"label":"%s","run":%s,"shard":1,"attempt":1}},"testResult":{"testActionOutput":[{"name":"test.log","uri":"file://%s/test.log"},{"name":"test.xml","uri":"file://%s/test.xml"}],"testAttemptDurationMillis":"250","status":"%s","testAttemptStartMillisEpoch":"%s"}}\n' \
      "$target" "$run" "$out" "$out" "$status" "$(date +%s%3N)" >> "$bep"
  done
  run=$((run + 1))
done

if [ -n "$interrupted" ]; then
  printf '%s\n' '{"id":{"buildFinished":{}},"finished":{"exitCode":{"name":"INTERRUPTED","code":8}}}' >> "$bep"
  exit 8
fi
if [ -n "$FAKE_BAZEL_HANG" ]; then
  if [ -n "$FAKE_BAZEL_IGNORE_INT" ]; then
    trap 'echo interrupted >> "$FAKE_BAZEL_HANG"' INT
  else
    trap 'echo interrupted > "$FAKE_BAZEL_HANG"; exit 8' INT
  fi
  echo ready > "$FAKE_BAZEL_HANG.ready"
  while :; do sleep 0.1; done
fi
if [ "$any_failed" = 1 ]; then
  printf '%s\n' '{"id":{"buildFinished":{}},"finished":{"exitCode":{"name":"TESTS_FAILED","code":3}}}' >> "$bep"
  exit 3
fi
printf '%s\n' '{"id":{"buildFinished":{}},"finished":{"exitCode":{"name":"SUCCESS"}}}' >> "$bep"
exit 0
