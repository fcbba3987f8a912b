#!/usr/bin/env bash
# Glue for the CPython targets in BUILD.bazel: check that Debian's CPython
# 3.11 and its test suite are installed, then run cpython_driver.py with
# Debian's interpreter by its path (a python3.11 found on PATH may be
# another build, e.g. a pyenv shim, with another test suite).
set -euo pipefail
if [ ! -x /usr/bin/python3.11 ] || [ ! -f /usr/lib/python3.11/test/test_threading.py ]; then
  echo "bench/foreign: Debian's CPython 3.11 test suite is missing: run apt-get install libpython3.11-testsuite" >&2
  exit 1
fi
exec /usr/bin/python3.11 "$(dirname "$0")/cpython_driver.py" "$@"
