// Reading a run's test.xml (JUnit XML) into per-test-case results.
//
//   FLAKY_ASSIGN_OR_RETURN(JUnitReport report, ReadJUnitXml(run.test_xml));
//   for (const TestCaseResult& result : report.cases) {
//     trial.test_case = result.test_case;  // "Suite.Name"
//     trial.outcome = result.outcome;
//     trial.failure_message = result.failure_message;
//   }
//
// Two writers matter under Bazel:
// - googletest (1.12) writes <testsuites><testsuite><testcase status="run|
//   notrun" result="completed|skipped|suppressed" time="0.001"
//   classname="Suite"> with <failure message="..."> or <skipped> children.
//   Under --gtest_repeat it rewrites the file after every iteration, so
//   test.xml holds the LAST iteration only (seen here: testdata/
//   gtest_repeat.xml reports no failure although iteration 2 failed). Use
//   gtest_log.h on test.log for in-process repetition.
// - Bazel's test-setup.sh writes a fallback when the test wrote none (a
//   non-gtest test, or one killed at its timeout): one <testcase> named
//   after the target's path, with <error message="exited with error code
//   N"> when it failed. That is reported as one case with test_case "" (the
//   whole target) and `bazel_fallback` set; for a timeout the BEP status,
//   not this XML, says what happened.
// Other writers (JUnit, pytest, ...) use the same elements and also parse.
#ifndef FLAKY_RESULTS_JUNIT_H_
#define FLAKY_RESULTS_JUNIT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "flaky/results/trial.h"

namespace flaky::results {

// TestCaseResult is the result of one <testcase>.
struct TestCaseResult {
  std::string suite;      // classname (or the enclosing testsuite's name)
  std::string name;       // the testcase's name
  std::string test_case;  // "suite.name"; "" for Bazel's fallback XML
  // pass, fail (<failure>), error (<error>), or skipped (<skipped>,
  // result="skipped|suppressed", status="notrun").
  Outcome outcome = Outcome::kPass;
  absl::Duration duration = absl::ZeroDuration();
  // The first <failure>/<error>'s message attribute (its text when the
  // attribute is absent); "" when the case did not fail.
  std::string failure_message;
};

// JUnitReport is everything read from one test.xml.
struct JUnitReport {
  std::vector<TestCaseResult> cases;  // in document order
  // bazel_fallback: written by Bazel's test-setup.sh, not by the test.
  bool bazel_fallback = false;
};

// ParseJUnitXml parses JUnit XML text. InvalidArgument with the parser's
// reason and byte offset for malformed XML, for an empty input, and for a
// document whose root is neither <testsuites> nor <testsuite>. `source`
// names the input in error messages.
absl::StatusOr<JUnitReport> ParseJUnitXml(absl::string_view xml,
                                          absl::string_view source = "XML");

// ReadJUnitXml reads and parses a test.xml. NotFound when it does not
// exist, Unavailable when it cannot be read, else as ParseJUnitXml.
absl::StatusOr<JUnitReport> ReadJUnitXml(const std::string& path);

}  // namespace flaky::results

#endif  // FLAKY_RESULTS_JUNIT_H_
