// The JSON report: the same content as the markdown one, for machines, with
// a "schema_version" (kSchemaVersion in report.h).
//
//   absl::StatusOr<nlohmann::json> doc = ReportToJson(report);
//   (*doc)["rows"][0]["interval"]["high"];  // 0.1006
//   absl::StatusOr<std::string> text = RenderJson(report);  // indented
//
// Conventions: rates are fractions (0.074, not 7.4); a bound that is
// infinite or undefined (an amplification with no baseline failures) is
// null; seeds are decimal strings, because 64-bit seeds do not survive
// JavaScript's doubles; durations are seconds; the date is RFC 3339 UTC.
// Text from test logs is made valid UTF-8 first (invalid bytes and control
// characters become U+FFFD). Pure and thread-safe.
#ifndef FLAKY_REPORT_JSON_H_
#define FLAKY_REPORT_JSON_H_

#include <string>

#include "absl/status/statusor.h"
#include "flaky/report/report.h"
#include "nlohmann/json.hpp"

namespace flaky::report {

// ReportToJson returns the report as a JSON document:
//   {"schema_version", "title", "metadata": {mode, commit, host, date,
//    max_rate, confidence, rule ("anytime"), flaky_family}, "gate": {verdict, exit_code} (null when
//    nothing was judged), "rows": [{target, test_case, profile, mode, trials,
//    failures, rate, interval: {low, high, confidence, method}, verdict,
//    reason, amplification: {kind, ratio, low, high} | null,
//    runs_per_failure: {expected, low, high} | null, by_outcome,
//    trials_to_first_failure, trials_since_last_failure,
//    total_duration_seconds, signatures: [{signature, count,
//    example_message, first_log_path, seed, first_run}]}],
//    "verdicts": [{target, profile, verdict, reason, cases: [{test_case,
//    verdict, failures, trials, lower_bound, upper_bound, reason}]}],
//    "fix_verifications": [{baseline, candidate, profile, test_case,
//    baseline_failures, baseline_trials, candidate_failures,
//    candidate_trials, alpha, p_value, decided, more_candidate_runs,
//    advice}]}
// Errors: InvalidArgument as ComputeRowStats.
absl::StatusOr<nlohmann::json> ReportToJson(const Report& report);

// RenderJson is ReportToJson serialised with two-space indentation and a
// trailing newline.
absl::StatusOr<std::string> RenderJson(const Report& report);

}  // namespace flaky::report

#endif  // FLAKY_REPORT_JSON_H_
