"""Runs CPython's own unittest cases, as Debian installed them, in a loop.

    python3.11 cpython_driver.py --iterations=100 --unfix=bpo37224 \
        test.test__xxsubinterpreters.RunStringTests.test_already_running

The tests come from Debian's libpython3.11-testsuite (/usr/lib/python3.11/
test/); nothing of them is copied here. With --unfix=NAME the known upstream
fix NAME is taken out of the imported test module before the tests run, in
memory only (see UNFIXES); without it the tests run as shipped. Each
iteration runs every named test once; the first iteration with a failure
ends the run with exit status 1 after printing the tracebacks, so one Bazel
run is one trial whose failure rate grows with --iterations.

A failing original can leave a thread blocked for good (the bpo-37224 worker
waits on a pipe nobody writes), so the driver always leaves with os._exit(),
even on its own errors, rather than joining threads at interpreter exit, and a watchdog ends a hung run
with a traceback before Bazel's timeout would. Each test's outcome, with the
failing iteration's error as the message, goes to $XML_OUTPUT_FILE (JUnit
XML), so that failure signatures tell the race's symptoms apart.
"""
import argparse
import contextlib
import faulthandler
import io
import os
import sys
import time
import traceback
import unittest
from xml.etree import ElementTree


def unfix_bpo37224():
    # CPython PR 27240 (bpo-37224, gh-81405) made _running() wait until the
    # subinterpreter runs before the test body goes on; skipping that wait
    # restores the start-before-ready race of the original tests.
    module = __import__("test.test__xxsubinterpreters", fromlist=["_"])
    if not callable(getattr(module, "_wait_for_interp_to_run", None)):
        raise SystemExit("cpython_driver: test__xxsubinterpreters has no "
                         "_wait_for_interp_to_run (PR 27240's readiness "
                         "check); this Python's test suite differs from the "
                         "one this bench was written for")
    module._wait_for_interp_to_run = lambda interp, timeout=None: None


# --unfix names: how to take each known fix out, in memory.
UNFIXES = {"bpo37224": unfix_bpo37224}


def write_junit(path, test_ids, failures, seconds):
    """Writes one <testcase> per test id; `failures` maps an id to the
    traceback of its failure or error."""
    suite = ElementTree.Element("testsuite", name="cpython_driver",
                                tests=str(len(set(test_ids) | set(failures))),
                                failures=str(len(failures)),
                                time=f"{seconds:.3f}")
    # A failure under another id (an import error) is reported too.
    for test_id in test_ids + [t for t in failures if t not in test_ids]:
        parts = test_id.split(".")
        case = ElementTree.SubElement(suite, "testcase", name=parts[-1],
                                      classname=parts[-2],
                                      time=f"{seconds:.3f}")
        if test_id in failures:
            lines = failures[test_id].strip().splitlines()
            failure = ElementTree.SubElement(case, "failure",
                                             message=lines[-1])
            failure.text = failures[test_id]
    root = ElementTree.Element("testsuites")
    root.append(suite)
    ElementTree.ElementTree(root).write(path, encoding="UTF-8",
                                        xml_declaration=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=1)
    parser.add_argument("--unfix", choices=sorted(UNFIXES))
    parser.add_argument("--watchdog_s", type=float,
                        default=float(os.environ.get("TEST_TIMEOUT", "60")) - 5)
    parser.add_argument("tests", nargs="+", help="unittest ids")
    args = parser.parse_args()

    faulthandler.dump_traceback_later(args.watchdog_s, exit=True)
    if args.unfix:
        UNFIXES[args.unfix]()
    variant = "fix removed: " + args.unfix if args.unfix else "as shipped"
    print(f"cpython_driver: {sys.version.split()[0]}, {variant}, "
          f"{args.iterations} iterations of {' '.join(args.tests)}",
          flush=True)
    loader = unittest.defaultTestLoader
    xml_path = os.environ.get("XML_OUTPUT_FILE")
    start = time.monotonic()
    for iteration in range(1, args.iterations + 1):
        # Printed only when the iteration fails (some suites print timings).
        output = io.StringIO()
        runner = unittest.TextTestRunner(stream=output, verbosity=2)
        with contextlib.redirect_stdout(output):
            result = runner.run(loader.loadTestsFromNames(args.tests))
        if not result.wasSuccessful():
            sys.stderr.write(output.getvalue())
            print(f"cpython_driver: iteration {iteration} of "
                  f"{args.iterations} failed", flush=True)
            if xml_path:
                # TestCase.id(test): some suites shadow id (RunStringTests
                # keeps an interpreter id in self.id).
                failures = {unittest.TestCase.id(test): trace
                            for test, trace in result.failures + result.errors}
                write_junit(xml_path, args.tests, failures,
                            time.monotonic() - start)
            os._exit(1)
    print(f"cpython_driver: {args.iterations} iterations passed", flush=True)
    if xml_path:
        write_junit(xml_path, args.tests, {}, time.monotonic() - start)
    os._exit(0)


if __name__ == "__main__":
    try:
        main()
    except SystemExit as stop:  # argparse, unfix_*
        if isinstance(stop.code, str):
            print(stop.code, file=sys.stderr)
        os._exit(stop.code if isinstance(stop.code, int) else 1)
    except BaseException:
        # Never fall into the interpreter's exit, which joins the threads
        # a failing original may have left blocked.
        traceback.print_exc()
        os._exit(1)
