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
  HuntMetadata metadata;  // metadata.gate holds --max_rate, --confidence, family
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
  // The verdict rule both sides are judged by (the fix is verified where
  // the baseline is FLAKY and the candidate CLEAN).
  stats::GateOptions gate;
  double alpha = 0.05;  // Fisher's test, shown alongside
};

// VerifyRun is the comparison per profile and its text.
struct VerifyRun {
  std::vector<FixComparison> comparisons;  // one per profile
  // Per profile (same order): the fix is verified there.
  std::vector<bool> verified;
  std::string text;                        // two lines per profile + a verdict line
  // 0 when the fix is verified under every profile, 2 when not yet (the
  // text says what is missing).
  int exit_code = 2;
};

// RunVerify judges both targets with stats::JudgeTargets (the one verdict
// rule, anytime-valid, FLAKY corrected over both sides and all profiles)
// and calls the fix verified under a profile when the baseline is FLAKY
// and the candidate CLEAN there: then the candidate's rate is below the
// maximum and the baseline's above it, so it fails less often, a claim
// wrong with probability at most 1 - confidence however often verify
// looked. Fisher's one-sided exact test of the summed counts
// (stats::VerifyFix, valid for one look at fixed run counts) is shown
// alongside. Errors: InvalidArgument for a bad alpha or gate options or
// when the two sides share no profile; NotFound when a requested profile
// lacks one side (naming it).
absl::StatusOr<VerifyRun> RunVerify(const std::vector<results::CaseSummary>& summaries,
                                    const VerifyRequest& request);

}  // namespace flaky::report

#endif  // FLAKY_REPORT_COMMANDS_H_
