// The two tests of CPython's bpo-37224 (test__xxsubinterpreters.py:
// test_already_running, test_still_running) ported onto the subinterpreter
// runtime, with the `_running(interp)` helper in its original form and in
// the fixed form of PR 27240 (wait until is_running before the body).
//
//   std::unique_ptr<Runtime> rt = ...;   // created on this thread
//   CaseReport report = RunAlreadyRunning(*rt, Helper::kOriginal);
//   for (const std::string& failure : report.failures) ADD_FAILURE() << failure;
//
// A case returns its failures instead of asserting, so the same code serves
// the race targets (which turn every failure into a gtest failure, so the
// text lands in test.xml) and the deterministic reproduction (which asserts
// on the failures under a forced interleaving).
#ifndef SUBINTERP_TESTS_RACE_RACE_CASES_H_
#define SUBINTERP_TESTS_RACE_RACE_CASES_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "runtime/options.h"
#include "runtime/runtime.h"

namespace subinterp::race {

// Helper selects the `_running(interp)` helper.
enum class Helper {
  // kOriginal starts the worker and yields to the body at once.
  kOriginal,
  // kFixed also waits until is_running(interp), polling every 10 ms with
  // the GIL released, before the body (CPython PR 27240).
  kFixed,
};

// CaseOptions tunes a case.
struct CaseOptions {
  // readiness_timeout bounds the fixed helper's wait (CPython: 30 s,
  // support.SHORT_TIMEOUT).
  absl::Duration readiness_timeout = absl::Seconds(30);
  // poll_interval is the fixed helper's sleep between is_running polls.
  absl::Duration poll_interval = absl::Milliseconds(10);
  // join_timeout bounds the wait for the worker at the end.
  absl::Duration join_timeout = absl::Seconds(60);
};

// CaseReport lists a case's failures: the body's assertion failures
// ("AssertionError: RuntimeError not raised ...") first, then the worker's
// uncaught error ("Exception in thread Thread-1 (run): RuntimeError:
// unrecognized interpreter ID 1"), then cleanup problems. Empty: passed.
struct CaseReport {
  std::vector<std::string> failures;
  bool passed() const { return failures.empty(); }
};

// RunAlreadyRunning: inside _running(interp), run_string(interp, ...) must
// fail with "interpreter already running". Must be called on the thread
// that created `runtime`, with no other runtime thread alive.
CaseReport RunAlreadyRunning(Runtime& runtime, Helper helper,
                             const CaseOptions& options = {});

// RunStillRunning: inside _running(interp), is_running(interp) must be true
// and destroy(interp) must fail. Same calling rules.
CaseReport RunStillRunning(Runtime& runtime, Helper helper,
                           const CaseOptions& options = {});

// NewRuntimeFromEnvironment creates a runtime with the options of
// OptionsFromEnvironment (SUBINTERP_SWITCH_INTERVAL_US) and `hook`.
// InvalidArgument for a bad environment value.
absl::StatusOr<std::unique_ptr<Runtime>> NewRuntimeFromEnvironment(
    RuntimeHook hook = nullptr);

}  // namespace subinterp::race

#endif  // SUBINTERP_TESTS_RACE_RACE_CASES_H_
