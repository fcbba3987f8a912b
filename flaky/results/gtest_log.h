// Reading googletest's console output (a run's test.log) into per-case,
// per-iteration results. This is the source for in-process repetition:
// under --gtest_repeat=N gtest rewrites test.xml after every iteration, so
// only the log still shows every iteration's verdicts.
//
//   FLAKY_ASSIGN_OR_RETURN(GtestLog log, ReadGtestLog(run.test_log));
//   for (const GtestLogCase& c : log.cases) {
//     trial.repetition = c.iteration;  // 0 without --gtest_repeat
//     trial.test_case = c.test_case;
//     trial.outcome = c.outcome;
//   }
//
// Recognised lines: "Repeating all tests (iteration K) . . .",
// "[ RUN      ] Suite.Name", "[       OK ] Suite.Name (N ms)",
// "[  FAILED  ] Suite.Name (N ms)", "[  SKIPPED ] Suite.Name (N ms)" and
// Bazel's "-- Test timed out at ...". The summary lists at the end of each
// iteration ("[  FAILED  ] Suite.Name" without a case running) are ignored.
#ifndef FLAKY_RESULTS_GTEST_LOG_H_
#define FLAKY_RESULTS_GTEST_LOG_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "flaky/results/trial.h"

namespace flaky::results {

// GtestLogCase is one test case's verdict in one iteration.
struct GtestLogCase {
  // iteration is gtest's 1-based iteration number under --gtest_repeat,
  // 0 when the log has no repeat banner (matching Trial::repetition).
  int iteration = 0;
  std::string test_case;  // "Suite.Name" (parameterised: "P/Suite.Name/0")
  // pass, fail, skipped; timeout when Bazel's timeout banner follows the
  // case's start; crashed when the log ends or the next case starts
  // without a verdict (the process died).
  Outcome outcome = Outcome::kPass;
  absl::Duration duration = absl::ZeroDuration();
  // For a failure: the output from the first "file:line: Failure" line on,
  // with ": Failure" dropped so it reads like test.xml's message. For a
  // crash or timeout: why there is no verdict. "" when passed or skipped.
  std::string failure_message;
};

// GtestLog is everything read from one test.log.
struct GtestLog {
  std::vector<GtestLogCase> cases;  // in log order
  int iterations = 0;  // repeat banners seen (0 without --gtest_repeat)
};

// ParseGtestLog parses gtest console output. Any text parses (a log with no
// gtest lines yields no cases), so it cannot fail.
GtestLog ParseGtestLog(absl::string_view log);

// ReadGtestLog reads and parses a test.log. NotFound when it does not
// exist, Unavailable when it cannot be read.
absl::StatusOr<GtestLog> ReadGtestLog(const std::string& path);

}  // namespace flaky::results

#endif  // FLAKY_RESULTS_GTEST_LOG_H_
