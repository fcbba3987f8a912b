#include "flaky/report/report.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "flaky/stats/binomial.h"
#include "flaky/stats/compare.h"
#include "flaky/stats/verdict.h"

namespace flaky::report {
namespace {

struct Side {
  int64_t failures = 0;
  int64_t trials = 0;
  bool found = false;
};

Side SumSide(const std::vector<results::CaseSummary>& rows, const std::string& target,
             const std::string& profile, const std::optional<std::string>& test_case) {
  Side side;
  for (const results::CaseSummary& row : rows) {
    if (row.target != target || row.profile != profile) continue;
    if (test_case.has_value() && row.test_case != *test_case) continue;
    side.found = true;
    side.failures += row.failures;
    side.trials += row.trials;
  }
  return side;
}

std::string ProfilesOf(const std::vector<results::CaseSummary>& rows,
                       const std::string& target) {
  std::set<std::string> profiles;
  for (const results::CaseSummary& row : rows) {
    if (row.target == target) profiles.insert(row.profile);
  }
  if (profiles.empty()) return "no rows for that target at all";
  return absl::StrCat("profiles present: ", absl::StrJoin(profiles, ", "));
}

}  // namespace

absl::StatusOr<Report> MakeReport(std::string title,
                                  std::vector<results::CaseSummary> rows,
                                  HuntMetadata metadata) {
  // Targets in order of first appearance, and within a target the baseline
  // profile first: the store returns rows sorted by name ("chaos:7" before
  // "none"), but a reader compares every profile against `none`.
  std::map<std::string, size_t> target_rank;
  for (const results::CaseSummary& row : rows) {
    target_rank.try_emplace(row.target, target_rank.size());
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [&](const results::CaseSummary& a, const results::CaseSummary& b) {
                     const size_t ra = target_rank[a.target];
                     const size_t rb = target_rank[b.target];
                     if (ra != rb) return ra < rb;
                     return a.profile == kBaselineProfile && b.profile != kBaselineProfile;
                   });
  Report report;
  FLAKY_ASSIGN_OR_RETURN(report.verdicts, stats::JudgeTargets(rows, metadata.gate));
  report.title = std::move(title);
  report.rows = std::move(rows);
  report.metadata = std::move(metadata);
  return report;
}

absl::StatusOr<FixComparison> CompareFix(const std::vector<results::CaseSummary>& rows,
                                         const FixRequest& request, double alpha) {
  const Side baseline =
      SumSide(rows, request.baseline_target, request.profile, request.test_case);
  const Side candidate =
      SumSide(rows, request.candidate_target, request.profile, request.test_case);
  for (const auto& [name, target, side] :
       {std::tuple{"baseline", request.baseline_target, baseline},
        std::tuple{"candidate", request.candidate_target, candidate}}) {
    if (!side.found) {
      return absl::NotFoundError(absl::StrCat(
          "fix verification: no trials of the ", name, " ", target, " under profile ",
          request.profile,
          request.test_case.has_value() ? absl::StrCat(" for case ", *request.test_case)
                                        : "",
          " (", ProfilesOf(rows, target), "); hunt both under the same profile"));
    }
    if (side.trials == 0) {
      return absl::NotFoundError(absl::StrCat("fix verification: the ", name, " ",
                                              target, " has no counted trials under ",
                                              request.profile, " (all skipped?)"));
    }
  }
  FixComparison comparison;
  FLAKY_ASSIGN_OR_RETURN(comparison.verification,
                         stats::VerifyFix(baseline.failures, baseline.trials,
                                          candidate.failures, candidate.trials, alpha));
  comparison.baseline = request.baseline_label.empty() ? request.baseline_target
                                                       : request.baseline_label;
  comparison.candidate = request.candidate_label.empty() ? request.candidate_target
                                                         : request.candidate_label;
  comparison.profile = request.profile;
  comparison.test_case = request.test_case.value_or("");
  return comparison;
}

absl::StatusOr<std::vector<RowStats>> ComputeRowStats(const Report& report) {
  const double confidence = report.metadata.gate.confidence;
  // (target, case, profile) -> case judgement.
  std::map<std::tuple<std::string, std::string, std::string>, const stats::Judgement*>
      judgements;
  for (const stats::TargetVerdict& verdict : report.verdicts) {
    for (const stats::CaseVerdict& c : verdict.cases) {
      judgements[{verdict.target, c.test_case, verdict.profile}] = &c.judgement;
    }
  }
  std::vector<RowStats> out;
  out.reserve(report.rows.size());
  for (const results::CaseSummary& row : report.rows) {
    RowStats stats;
    stats.row = &row;
    const std::string where =
        absl::StrCat(row.target, " ", row.test_case, " [", row.profile, "]: ");
    if (row.trials > 0 || row.failures != 0) {
      absl::StatusOr<stats::RateInterval> interval =
          stats::EstimateRate(row.failures, row.trials, confidence);
      if (!interval.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, interval.status().message()));
      }
      stats.interval = *interval;
      absl::StatusOr<stats::RunsToFailure> runs = stats::EstimateRunsToFailure(
          row.failures, row.trials, row.trials_to_first_failure, confidence);
      if (!runs.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(where, runs.status().message()));
      }
      stats.runs_to_failure = *runs;
    }
    auto judged = judgements.find({row.target, row.test_case, row.profile});
    if (judged != judgements.end()) {
      stats.verdict = judged->second->verdict;
      stats.reason = judged->second->reason;
    }
    out.push_back(std::move(stats));
  }
  // The metrics' definition too (baseline/amplification.h), by (target,
  // case, profile); after the rows' own checks, which name a bad row best.
  FLAKY_ASSIGN_OR_RETURN(std::vector<baseline::CaseAmplification> amplifications,
                         baseline::Amplifications(report.rows, confidence));
  std::map<std::tuple<std::string, std::string, std::string>, const stats::RateRatio*>
      ratios;
  for (const baseline::CaseAmplification& a : amplifications) {
    ratios[{a.target, a.test_case, a.profile}] = &a.ratio;
  }
  for (RowStats& stats : out) {
    auto ratio = ratios.find({stats.row->target, stats.row->test_case, stats.row->profile});
    if (ratio != ratios.end()) stats.amplification = *ratio->second;
  }
  return out;
}

std::optional<stats::Verdict> OverallVerdict(const Report& report) {
  if (report.verdicts.empty()) return std::nullopt;
  switch (stats::GateExitCode(report.verdicts)) {
    case stats::kGateExitFlaky:
      return stats::Verdict::kFlaky;
    case stats::kGateExitInconclusive:
      return stats::Verdict::kInconclusive;
    default:
      return stats::Verdict::kClean;
  }
}

std::string ShortSignature(const std::string& signature, size_t max_chars) {
  std::string line;
  line.reserve(std::min(signature.size(), max_chars));
  for (char c : signature) {
    if (c == '\n' || c == '\r' || c == '\t') {
      line.push_back(' ');
    } else if ((c >= 0 && c < 0x20) || c == 0x7f) {
      line.push_back('?');  // e.g. ANSI colour codes from a test log
    } else {
      line.push_back(c);
    }
  }
  if (line.size() <= max_chars) return line;
  size_t cut = max_chars >= 3 ? max_chars - 3 : 0;
  // Back off continuation bytes (10xxxxxx) so a UTF-8 sequence is not split.
  while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
  return line.substr(0, cut) + "...";
}

}  // namespace flaky::report
