"""CPython 3.11's own bpo-37224 race tests, with the fix taken out at run time.

Runs RunStringTests.test_already_running and DestroyTests.test_still_running
from Lib/test/test__xxsubinterpreters.py (Debian: libpython3.11-testsuite).
The fix of PR 27240 is the helper `_wait_for_interp_to_run`, which polls
`is_running` before `_running()` yields; unless --fixed is given it is
replaced by a no-op in the imported module, so the body runs as soon as the
thread has started, as before the fix. Nothing of CPython is copied here.

    python3.11 subinterp_race.py [--fixed] [--iterations=N]

Prints one line "cases=C failed=F" and exits 1 if a case failed, 0 if none
did, 2 if the test module is missing.
"""
import argparse
import faulthandler
import os
import sys
import unittest


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--fixed", action="store_true",
                        help="keep the readiness check of PR 27240")
    parser.add_argument("--iterations", type=int, default=1)
    args = parser.parse_args()
    try:
        from test import test__xxsubinterpreters as module
    except ImportError as e:
        print(f"cannot import test.test__xxsubinterpreters ({e}); "
              "run: apt-get install libpython3.11-testsuite", file=sys.stderr)
        os._exit(2)
    if not args.fixed:
        module._wait_for_interp_to_run = lambda interp, timeout=None: None
    suite = unittest.TestSuite()
    for _ in range(args.iterations):
        suite.addTest(module.RunStringTests("test_already_running"))
        suite.addTest(module.DestroyTests("test_still_running"))
    # A lost race can leave the worker blocked forever inside the
    # subinterpreter (the helper's cleanup is skipped): never wait for it.
    faulthandler.dump_traceback_later(120, exit=True)
    result = unittest.TestResult()
    suite.run(result)
    failed = result.failures + result.errors
    for _, trace in failed[:2]:
        print(trace.strip().splitlines()[-1], file=sys.stderr)
    print(f"cases={suite.countTestCases()} failed={len(failed)}", flush=True)
    sys.stderr.flush()
    os._exit(1 if failed else 0)


if __name__ == "__main__":
    main()
