// The report model: everything a hunt or a gate tells a reviewer, as one
// input struct that every renderer (terminal.h, markdown.h, json.h,
// junit.h, svg_chart.h) takes, plus the helpers that fill it from stored
// case summaries.
//
//   HuntMetadata metadata;
//   metadata.mode = results::HuntMode::kBazelRuns;
//   metadata.commit = "1a2b3c4";
//   metadata.gate.max_rate = 0.001;
//   FLAKY_ASSIGN_OR_RETURN(Report report,
//                          MakeReport("bpo-37224 race tests", summaries, metadata));
//   FLAKY_ASSIGN_OR_RETURN(FixComparison fix,
//       CompareFix(report.rows, {"//tests/race:already_running_original",
//                                "//tests/race:already_running_fixed", "chaos:7"},
//                  0.05));
//   report.fixes.push_back(fix);
//   FLAKY_ASSIGN_OR_RETURN(std::string md, RenderMarkdown(report, "report.svg"));
//
// Reports are plain data; functions are pure and thread-safe.
#ifndef FLAKY_REPORT_REPORT_H_
#define FLAKY_REPORT_REPORT_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "flaky/baseline/amplification.h"
#include "flaky/results/hunt_state.h"
#include "flaky/results/summary.h"
#include "flaky/stats/binomial.h"
#include "flaky/stats/compare.h"
#include "flaky/stats/verdict.h"

namespace flaky::report {

// kSchemaVersion is the "schema_version" of the JSON report; it changes
// when a field is removed or changes meaning (adding fields keeps it).
inline constexpr int kSchemaVersion = 2;

// kBaselineProfile is the profile amplification is measured against.
using ::flaky::baseline::kBaselineProfile;

// HuntMetadata says how the trials were produced and judged.
struct HuntMetadata {
  std::optional<results::HuntMode> mode;  // nullopt: not known
  std::string commit;  // of the workspace under test
  std::string host;
  absl::Time date = absl::UnixEpoch();  // when the hunt ran
  stats::GateOptions gate;              // max rate, confidence, FLAKY family
};

// FixRequest names the two sides of a fix verification.
struct FixRequest {
  std::string baseline_target;   // e.g. the original test, or the base commit's
  std::string candidate_target;  // e.g. the fixed test
  std::string profile;           // both sides under the same profile
  // When set, only this test case on both sides; otherwise the sums over
  // all cases of each target (a trial is one case execution either way).
  std::optional<std::string> test_case;
  // Human labels; default to the targets.
  std::string baseline_label;
  std::string candidate_label;
};

// FixComparison is one fix verification, ready to render.
struct FixComparison {
  std::string baseline;   // label
  std::string candidate;  // label
  std::string profile;
  std::string test_case;  // "" for all cases
  stats::FixVerification verification;
};

// Report is the input of every renderer.
struct Report {
  std::string title;
  HuntMetadata metadata;
  std::vector<results::CaseSummary> rows;     // one per (target, case, profile)
  std::vector<stats::TargetVerdict> verdicts;  // one per (target, profile)
  std::vector<FixComparison> fixes;           // optional
};

// MakeReport fills a Report and judges every (target, profile) with
// stats::JudgeTargets under metadata.gate. Rows keep their order except
// that within each target the `none` rows come first (stable).
// Errors: InvalidArgument for bad gate options or inconsistent rows (the
// message names the row).
absl::StatusOr<Report> MakeReport(std::string title,
                                  std::vector<results::CaseSummary> rows,
                                  HuntMetadata metadata);

// CompareFix sums each side's trials and failures from `rows` and runs
// stats::VerifyFix at significance `alpha` (one-sided: candidate lower).
// Errors: NotFound when a side has no rows under the profile (the message
// names the side, target and profile and lists the profiles present);
// InvalidArgument for a bad alpha.
absl::StatusOr<FixComparison> CompareFix(const std::vector<results::CaseSummary>& rows,
                                         const FixRequest& request, double alpha);

// RowStats is what the renderers show for one row, computed once.
struct RowStats {
  const results::CaseSummary* row = nullptr;  // points into Report::rows
  // Two-sided anytime-valid interval at the report's confidence; nullopt
  // when the row has no trials.
  std::optional<stats::RateInterval> interval;
  // The case's verdict from Report::verdicts; nullopt when not judged.
  std::optional<stats::Verdict> verdict;
  std::string reason;
  // baseline::Amplifications: against the same (target, case) under
  // `none`; nullopt for `none` itself, when there is no such row, or when
  // either side has no trials.
  std::optional<stats::RateRatio> amplification;
  // Runs per failure (1 / rate with its interval) and the observed runs to
  // the first failure; nullopt when the row has no trials.
  std::optional<stats::RunsToFailure> runs_to_failure;
};

// ComputeRowStats returns one RowStats per row, in order. The result points
// into `report.rows`, so `report` must outlive it and not be modified.
// Errors: InvalidArgument for a row with failures outside [0, trials] or a
// confidence outside (0, 1).
absl::StatusOr<std::vector<RowStats>> ComputeRowStats(const Report& report);

// OverallVerdict is FLAKY if any verdict is, else INCONCLUSIVE if any is,
// else CLEAN; nullopt when there are no verdicts.
std::optional<stats::Verdict> OverallVerdict(const Report& report);

// ShortSignature cuts a failure signature to at most `max_chars` bytes on a
// UTF-8 boundary, on one line (newlines and tabs become spaces, other
// control characters such as ANSI escapes '?'), with "..." when cut.
std::string ShortSignature(const std::string& signature, size_t max_chars = 100);

// The most bytes of a name (target, test case, profile) and of a verdict's
// reason that the terminal and markdown reports show; JSON and JUnit keep
// them whole.
inline constexpr size_t kMaxNameChars = 200;
inline constexpr size_t kMaxReasonChars = 600;

// ShortName is ShortSignature(name, kMaxNameChars).
inline std::string ShortName(const std::string& name) {
  return ShortSignature(name, kMaxNameChars);
}

}  // namespace flaky::report

#endif  // FLAKY_REPORT_REPORT_H_
