#include "flaky/report/commands.h"

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "flaky/report/format.h"
#include "flaky/report/terminal.h"
#include "flaky/report/write.h"
#include "flaky/stats/binomial.h"
#include "flaky/stats/verdict.h"

namespace flaky::report {

absl::StatusOr<ReportRun> RunReport(const ReportRequest& request) {
  if (request.summaries.empty()) {
    return absl::FailedPreconditionError(
        "no trials to report: nothing was stored for the selected targets, profiles or "
        "hunts; check --store and the filter (`flaky report --store=PATH` lists all)");
  }
  ReportRun run;
  FLAKY_ASSIGN_OR_RETURN(run.report,
                         MakeReport(request.title, request.summaries, request.metadata));
  const double alpha = request.fix_alpha.value_or(1.0 - request.metadata.gate.confidence);
  for (const FixRequest& fix : request.fixes) {
    FLAKY_ASSIGN_OR_RETURN(FixComparison comparison,
                           CompareFix(run.report.rows, fix, alpha));
    run.report.fixes.push_back(std::move(comparison));
  }
  FLAKY_ASSIGN_OR_RETURN(run.terminal, RenderTerminal(run.report));
  if (!request.report_dir.empty()) {
    FLAKY_ASSIGN_OR_RETURN(run.files, WriteReportFiles(run.report, request.report_dir));
  }
  run.gate_exit_code = stats::GateExitCode(run.report.verdicts);
  return run;
}

absl::StatusOr<VerifyRun> RunVerify(const std::vector<results::CaseSummary>& summaries,
                                    const VerifyRequest& request) {
  std::vector<std::string> profiles = request.profiles;
  if (profiles.empty()) {
    std::set<std::string> baseline;
    std::set<std::string> both;
    for (const results::CaseSummary& s : summaries) {
      if (s.target == request.baseline_target) baseline.insert(s.profile);
    }
    for (const results::CaseSummary& s : summaries) {
      if (s.target == request.candidate_target && baseline.count(s.profile) > 0) {
        both.insert(s.profile);
      }
    }
    if (both.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "baseline ", request.baseline_target, " and candidate ", request.candidate_target,
          " share no profile: run both under the same profiles (flaky verify does)"));
    }
    // `none` first, as the baseline profile everything is compared to.
    if (both.count(kBaselineProfile) > 0) profiles.push_back(kBaselineProfile);
    for (const std::string& p : both) {
      if (p != kBaselineProfile) profiles.push_back(p);
    }
  }
  std::vector<results::CaseSummary> sides;
  for (const results::CaseSummary& s : summaries) {
    if (s.target == request.baseline_target || s.target == request.candidate_target) {
      sides.push_back(s);
    }
  }
  FLAKY_ASSIGN_OR_RETURN(std::vector<stats::TargetVerdict> verdicts,
                         stats::JudgeTargets(sides, request.gate));
  auto verdict_of = [&](const std::string& target,
                        const std::string& profile) -> const stats::TargetVerdict* {
    for (const stats::TargetVerdict& v : verdicts) {
      if (v.target == target && v.profile == profile) return &v;
    }
    return nullptr;
  };
  VerifyRun run;
  int verified = 0;
  for (const std::string& profile : profiles) {
    FixRequest fix;
    fix.baseline_target = request.baseline_target;
    fix.candidate_target = request.candidate_target;
    fix.baseline_label = request.baseline_label;
    fix.candidate_label = request.candidate_label;
    fix.profile = profile;
    FLAKY_ASSIGN_OR_RETURN(FixComparison comparison,
                           CompareFix(summaries, fix, request.alpha));
    const stats::TargetVerdict* baseline =
        verdict_of(request.baseline_target, profile);
    const stats::TargetVerdict* candidate =
        verdict_of(request.candidate_target, profile);
    const bool shown = baseline != nullptr && candidate != nullptr &&
                       baseline->verdict == stats::Verdict::kFlaky &&
                       candidate->verdict == stats::Verdict::kClean;
    verified += shown;
    absl::StrAppend(
        &run.text, "under ", profile, ": baseline ",
        baseline == nullptr ? "not judged"
                            : absl::StrCat(stats::VerdictName(baseline->verdict), " (",
                                           baseline->reason, ")"),
        "; candidate ",
        candidate == nullptr ? "not judged"
                             : absl::StrCat(stats::VerdictName(candidate->verdict), " (",
                                            candidate->reason, ")"),
        shown ? ": fix verified" : ": not yet", "\n  ", FixLine(comparison), "\n");
    run.verified.push_back(shown);
    run.comparisons.push_back(std::move(comparison));
  }
  const bool all = verified == static_cast<int>(run.comparisons.size());
  run.exit_code = all ? 0 : 2;
  absl::StrAppend(
      &run.text,
      all ? "Verified: the baseline is FLAKY and the candidate CLEAN under every profile"
          : absl::StrCat("Not verified yet: the baseline is FLAKY and the candidate CLEAN "
                         "under ",
                         verified, " of ", run.comparisons.size(), " profiles"),
      " (rate ", all ? "" : "must be ", "above and below ",
      stats::FormatPercent(request.gate.max_rate), " at ",
      stats::FormatConfidence(request.gate.confidence),
      ", valid however often verify looks)\n");
  return run;
}

}  // namespace flaky::report
