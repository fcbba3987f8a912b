#!/bin/sh
# A stand-in for `bazel` that lets hunt_signal_test drive the real `flaky`
# binary without nested Bazel: queries and the build succeed at once;
# `test` completes run 1 (BEP line, test.xml, test.log) and then keeps
# running like a long Bazel invocation until SIGINT, which it records in
# $FAKE_BAZEL_MARK and answers like Bazel (exit 8).
bep=""
for arg in "$@"; do
  case "$arg" in
    --build_event_json_file=*) bep="${arg#--build_event_json_file=}" ;;
  esac
done
case " $* " in
  *" query "*"--output=label_kind"*) echo "cc_test rule //t:a_test"; exit 0 ;;
  *" query "*) exit 0 ;;
  *" build "*) exit 0 ;;
  *" test "*) ;;
  *) echo "fake bazel: unexpected command: $*" >&2; exit 2 ;;
esac
trap 'echo interrupted > "$FAKE_BAZEL_MARK"; exit 8' INT
run="$(dirname "$bep")/run_1"
mkdir -p "$run"
cat > "$run/test.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="1" name="AllTests"><testsuite name="Suite" tests="1">
<testcase name="Race" status="run" result="completed" time="0.002" classname="Suite" />
</testsuite></testsuites>
XML
echo "[ RUN      ] Suite.Race" > "$run/test.log"
printf '%s\n' '{"id":{"started":{}},"started":{"command":"test"}}' > "$bep"
printf '{"id":{"testResult":{"label":"//t:a_test","run":1,"shard":1,"attempt":1}},"testResult":{"testActionOutput":[{"name":"test.log","uri":"file://%s/test.log"},{"name":"test.xml","uri":"file://%s/test.xml"}],"testAttemptDurationMillis":"5","status":"PASSED","testAttemptStartMillisEpoch":"1795801329982"}}\n' "$run" "$run" >> "$bep"
echo ready > "$FAKE_BAZEL_MARK.ready"
while :; do sleep 0.1; done
