// The JUnit XML report, for CI systems' test tabs (Jenkins, GitLab, GitHub
// actions such as action-junit-report, Buildkite test analytics): one
// <testcase> per (target, profile), named by the profile, with the target as
// its classname.
//
//   absl::StatusOr<std::string> xml = RenderJUnit(report);
//
// Mapping of verdicts, chosen for how CI systems render them:
// - FLAKY: <failure type="FLAKY" message=reason> with every case's counts
//   and the top signatures in its body: the test tab shows it red, like the
//   gate's exit code 1.
// - INCONCLUSIVE: <skipped message=reason>: shown as skipped/yellow, neither
//   green (it is not proven clean) nor red (nothing proved it flaky), which
//   matches exit code 2; the reason says how many more runs would decide.
// - CLEAN: a passing <testcase>.
// Every testcase carries <properties> (verdict, trials, failures, rate,
// rate_low, rate_high, confidence, max_rate) for tools that read them, and
// its time is the summed duration of its trials. The suite carries commit,
// host and mode as properties and the hunt date as its timestamp.
// Pure and thread-safe.
#ifndef FLAKY_REPORT_JUNIT_H_
#define FLAKY_REPORT_JUNIT_H_

#include <string>

#include "absl/status/statusor.h"
#include "flaky/report/report.h"

namespace flaky::report {

// RenderJUnit returns the report as a JUnit XML document (UTF-8, escaped by
// pugixml; text from logs made XML-safe first). A report without verdicts
// gives a valid suite with no testcases.
// Errors: InvalidArgument as ComputeRowStats.
absl::StatusOr<std::string> RenderJUnit(const Report& report, int max_signatures = 3);

}  // namespace flaky::report

#endif  // FLAKY_REPORT_JUNIT_H_
