#!/usr/bin/env bash
# Checks the Prometheus rules and config with promtool (Debian's
# `prometheus` package) and runs the rules' unit tests.
set -euo pipefail
promtool=${PROMTOOL:-/usr/bin/promtool}
if [[ ! -x "$promtool" ]]; then
  echo "promtool not found at $promtool: install Debian's prometheus (ci/bootstrap does) or set PROMTOOL" >&2
  exit 1
fi
dir="${TEST_SRCDIR}/${TEST_WORKSPACE}/dashboards/prometheus"
cd "$dir"
"$promtool" check rules recording_rules.yml alerting_rules.yml
"$promtool" check config prometheus.yml
"$promtool" test rules rules_test.yml
