// The library side of `flaky gate`, `flaky report` and `flaky verify`: each
// takes the case summaries (from the store or a finished hunt) and an
// options struct, and returns everything the command prints, writes and
// exits with. The CLI parses flags into these structs and does nothing
// else. (`flaky plan` is stats::MakePlan + stats::DescribePlan.)
//
//   ReportRequest request;
//   request.title = "merge gate";
//   request.summaries = hunt.summaries;           // or store->Summarize(filter)
//   request.metadata.gate = {.max_rate = 0.001, .confidence = 0.95};
//   request.report_dir = "flaky-out";             // report.{md,svg,json,junit.xml}
//   FLAKY_ASSIGN_OR_RETURN(ReportRun run, RunReport(request));
//   std::cout << run.terminal;
//   return run.gate_exit_code;                    // 0 clean, 1 flaky, 2 inconclusive
//
// Errors map to the gate's exit code 3 (usage or environment) in main().
// Pure apart from the files written; thread-safe for distinct report_dirs.
#ifndef FLAKY_REPORT_COMMANDS_H_
#define FLAKY_REPORT_COMMANDS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "flaky/report/report.h"
#include "flaky/report/write.h"
#include "flaky/results/summary.h"

namespace flaky::report {

// ReportRequest is the input of `flaky gate` (after its hunt) and
// `flaky report --store=...`.
struct ReportRequest {
  std::string title;
  std::vector<results::CaseSummary> summaries;
  HuntMetadata metadata;  // metadata.gate holds --max-rate, --confidence, SPRT
  std::vector<FixRequest> fixes;  // optional fix verifications to include
  // Significance of the fix verifications; nullopt means 1 - confidence.
  std::optional<double> fix_alpha;
  std::string report_dir;  // "" writes no files
};

// ReportRun is what the command prints, wrote and exits with.
struct ReportRun {
  Report report;
  std::string terminal;              // RenderTerminal
  std::optional<ReportFiles> files;  // when report_dir was given
  int gate_exit_code = 0;            // stats::GateExitCode of the verdicts
};

// RunReport judges the summaries, verifies the requested fixes, renders the
// terminal summary and writes the report files.
// Errors: FailedPrecondition when there are no summaries (nothing was
// stored for the selection: the message says to check the store and the
// filter); InvalidArgument for bad options or rows; NotFound for a fix side
// without trials; Unavailable when the files cannot be written.
absl::StatusOr<ReportRun> RunReport(const ReportRequest& request);

// VerifyRequest is the input of `flaky verify` once both sides have run.
struct VerifyRequest {
  std::string baseline_target;
  std::string candidate_target;
  std::string baseline_label;   // defaults to the target
  std::string candidate_label;  // defaults to the target
  // Profiles to compare; empty means every profile both sides ran under.
  std::vector<std::string> profiles;
  double alpha = 0.05;
};

// VerifyRun is the comparison per profile and its text.
struct VerifyRun {
  std::vector<FixComparison> comparisons;  // one per profile
  std::string text;                        // one line per profile + a verdict line
  // 0 when the candidate is significantly lower under every profile, 2 when
  // any comparison is undecided (the text says how many more runs).
  int exit_code = 2;
};

// RunVerify compares the two targets' summed trials per profile with
// Fisher's one-sided exact test (stats::VerifyFix).
// Errors: InvalidArgument for a bad alpha or when the two sides share no
// profile; NotFound when a requested profile lacks one side (naming it).
absl::StatusOr<VerifyRun> RunVerify(const std::vector<results::CaseSummary>& summaries,
                                    const VerifyRequest& request);

}  // namespace flaky::report

#endif  // FLAKY_REPORT_COMMANDS_H_
