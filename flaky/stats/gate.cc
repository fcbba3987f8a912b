#include "flaky/stats/gate.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "flaky/base/status_macros.h"
#include "flaky/stats/binomial.h"
#include "flaky/stats/plan.h"
#include "flaky/stats/sprt.h"

namespace flaky::stats {
namespace {

int Severity(Verdict verdict) {
  switch (verdict) {
    case Verdict::kClean:
      return 0;
    case Verdict::kInconclusive:
      return 1;
    case Verdict::kFlaky:
      return 2;
  }
  return 1;
}

std::string Counts(int64_t failures, int64_t trials) {
  return absl::StrCat(failures, " of ", trials, " runs failed");
}

}  // namespace

absl::string_view VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kClean:
      return "CLEAN";
    case Verdict::kFlaky:
      return "FLAKY";
    case Verdict::kInconclusive:
      return "INCONCLUSIVE";
  }
  return "UNKNOWN";
}

absl::Status ValidateGateOptions(const GateOptions& options) {
  if (!(options.max_rate > 0.0 && options.max_rate < 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--max-rate must be strictly between 0 and 1 (e.g. 0.001 for 0.1%), got ",
        options.max_rate));
  }
  if (!(options.confidence > 0.0 && options.confidence < 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--confidence must be strictly between 0 and 1 (e.g. 0.95), got ",
        options.confidence));
  }
  if (options.looks < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the number of looks must be at least 1 (1 when the verdict is taken once at "
        "the end of the hunt), got ",
        options.looks));
  }
  if (options.sprt.has_value()) {
    FLAKY_RETURN_IF_ERROR(ValidateSprtOptions(*options.sprt));
    if (options.sprt->p0 < options.max_rate) {
      return absl::InvalidArgumentError(absl::StrCat(
          "SPRT p0 (", options.sprt->p0, ") must be >= --max-rate (", options.max_rate,
          ") so that its FLAKY means a rate above the maximum"));
    }
  }
  return absl::OkStatus();
}

double PerLookConfidence(const GateOptions& options) {
  return 1.0 - (1.0 - options.confidence) / static_cast<double>(std::max(1, options.looks));
}

absl::StatusOr<Judgement> Judge(int64_t failures, int64_t trials,
                                const GateOptions& options) {
  FLAKY_RETURN_IF_ERROR(ValidateGateOptions(options));
  Judgement j;
  j.failures = failures;
  j.trials = trials;
  const std::string max = FormatPercent(options.max_rate);
  const double confidence = PerLookConfidence(options);
  std::string conf = FormatConfidence(options.confidence);
  if (options.looks > 1) absl::StrAppend(&conf, " over ", options.looks, " looks");
  if (trials == 0 && failures == 0) {
    j.verdict = Verdict::kInconclusive;
    j.reason = "no trials: nothing ran (all skipped or filtered?)";
    return j;
  }
  FLAKY_ASSIGN_OR_RETURN(j.lower_bound,
                         ExactLowerBound(failures, trials, confidence));
  FLAKY_ASSIGN_OR_RETURN(j.upper_bound,
                         ExactUpperBound(failures, trials, confidence));
  if (options.sprt.has_value()) {
    FLAKY_ASSIGN_OR_RETURN(j.sprt, EvaluateSprt(*options.sprt, failures, trials));
  }
  if (j.lower_bound > options.max_rate) {
    j.verdict = Verdict::kFlaky;
    j.reason = absl::StrCat(Counts(failures, trials), ": rate above ",
                            FormatPercent(j.lower_bound, PercentRounding::kDown),
                            " at ", conf, ", over the maximum ", max);
    return j;
  }
  if (j.sprt.has_value() && j.sprt->decision == SprtDecision::kAcceptH1) {
    j.verdict = Verdict::kFlaky;
    j.reason = absl::StrCat(Counts(failures, trials), ": the SPRT accepts rate >= ",
                            FormatPercent(options.sprt->p1), " over ",
                            FormatPercent(options.sprt->p0));
    return j;
  }
  if (j.upper_bound < options.max_rate) {
    j.verdict = Verdict::kClean;
    j.reason = absl::StrCat(Counts(failures, trials), ": rate below ",
                            FormatPercent(j.upper_bound, PercentRounding::kUp), " at ",
                            conf, ", under the maximum ", max);
    return j;
  }
  j.verdict = Verdict::kInconclusive;
  absl::StatusOr<int64_t> needed =
      RunsToClaimBelow(options.max_rate, confidence, failures);
  j.reason = absl::StrCat(Counts(failures, trials), ": one-sided ", conf, " bounds ",
                          FormatPercent(j.lower_bound, PercentRounding::kDown), " and ",
                          FormatPercent(j.upper_bound, PercentRounding::kUp),
                          " straddle the maximum ", max);
  if (needed.ok() && *needed > trials) {
    j.more_clean_runs_for_clean = *needed - trials;
    absl::StrAppend(&j.reason, "; ", *j.more_clean_runs_for_clean,
                    " more runs without a failure would make it CLEAN");
  }
  return j;
}

absl::StatusOr<std::vector<TargetVerdict>> JudgeTargets(
    const std::vector<results::CaseSummary>& rows, const GateOptions& options) {
  FLAKY_RETURN_IF_ERROR(ValidateGateOptions(options));
  std::vector<TargetVerdict> verdicts;
  std::map<std::pair<std::string, std::string>, size_t> index;
  std::vector<bool> ran;  // per verdict: did any of its cases run?
  for (const results::CaseSummary& row : rows) {
    absl::StatusOr<Judgement> judgement = Judge(row.failures, row.trials, options);
    if (!judgement.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(row.target, " ", row.test_case, " [", row.profile,
                       "]: ", judgement.status().message()));
    }
    auto [it, inserted] =
        index.try_emplace({row.target, row.profile}, verdicts.size());
    if (inserted) {
      TargetVerdict verdict;
      verdict.target = row.target;
      verdict.profile = row.profile;
      verdict.verdict = Verdict::kClean;
      verdicts.push_back(std::move(verdict));
    }
    TargetVerdict& verdict = verdicts[it->second];
    // A case that never ran (GTEST_SKIP, a filter) says nothing about the
    // target's flakiness; it decides only when no case of the target ran,
    // or a target with one skipped case could never pass a gate.
    if (ran.size() < verdicts.size()) ran.resize(verdicts.size(), false);
    const bool row_ran = row.trials > 0;
    const bool worse =
        verdict.cases.empty() || (row_ran && !ran[it->second]) ||
        (row_ran == ran[it->second] &&
         Severity(judgement->verdict) > Severity(verdict.verdict));
    ran[it->second] = ran[it->second] || row_ran;
    if (worse) {
      verdict.verdict = judgement->verdict;
      verdict.reason = row.test_case.empty()
                           ? judgement->reason
                           : absl::StrCat(row.test_case, ": ", judgement->reason);
    }
    verdict.cases.push_back(CaseVerdict{row.test_case, *std::move(judgement)});
  }
  return verdicts;
}

int GateExitCode(const std::vector<TargetVerdict>& verdicts) {
  if (verdicts.empty()) return kGateExitUsage;
  bool inconclusive = false;
  for (const TargetVerdict& v : verdicts) {
    if (v.verdict == Verdict::kFlaky) return kGateExitFlaky;
    if (v.verdict == Verdict::kInconclusive) inconclusive = true;
  }
  return inconclusive ? kGateExitInconclusive : kGateExitClean;
}

}  // namespace flaky::stats
