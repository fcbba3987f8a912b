#include "flaky/stats/verdict.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <numeric>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "flaky/stats/anytime.h"
#include "flaky/stats/binomial.h"

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

// The evidence of one hypothesis, before Holm decides its FLAKY share.
absl::StatusOr<Judgement> Weigh(int64_t failures, int64_t trials,
                                const GateOptions& options) {
  FLAKY_RETURN_IF_ERROR(ValidateAnytime(failures, trials, options.confidence));
  Judgement j;
  j.failures = failures;
  j.trials = trials;
  if (trials == 0) return j;
  j.log_evidence_above = LogEvidenceAbove(failures, trials, options.max_rate);
  j.log_evidence_below = LogEvidenceBelow(failures, trials, options.max_rate);
  j.p_value_above = std::min(1.0, std::exp(-j.log_evidence_above));
  FLAKY_ASSIGN_OR_RETURN(j.upper_bound,
                         AnytimeUpperBound(failures, trials, options.confidence));
  return j;
}

// Settles a weighed hypothesis given its FLAKY error share.
absl::Status Decide(const GateOptions& options, double flaky_alpha,
                    int64_t family, Judgement& j) {
  j.flaky_alpha = flaky_alpha;
  j.family = family;
  const std::string max = FormatPercent(options.max_rate);
  const std::string conf = FormatConfidence(options.confidence);
  if (j.trials == 0) {
    j.verdict = Verdict::kInconclusive;
    j.reason = "no trials: nothing ran (all skipped or filtered?)";
    return absl::OkStatus();
  }
  FLAKY_ASSIGN_OR_RETURN(j.lower_bound,
                         AnytimeLowerBound(j.failures, j.trials, 1.0 - flaky_alpha));
  if (j.log_evidence_above >= -std::log(flaky_alpha)) {
    j.verdict = Verdict::kFlaky;
    j.reason = absl::StrCat(Counts(j.failures, j.trials), ": rate above ",
                            FormatPercent(j.lower_bound, PercentRounding::kDown),
                            " at ", conf,
                            family > 1 ? absl::StrCat(" family-wise over ", family,
                                                      " hypotheses (Holm)")
                                       : "",
                            ", over the maximum ", max);
    return absl::OkStatus();
  }
  if (j.log_evidence_below >= LogThreshold(options.confidence)) {
    j.verdict = Verdict::kClean;
    j.reason = absl::StrCat(Counts(j.failures, j.trials), ": rate below ",
                            FormatPercent(j.upper_bound, PercentRounding::kUp), " at ",
                            conf, ", under the maximum ", max);
    return absl::OkStatus();
  }
  j.verdict = Verdict::kInconclusive;
  j.reason = absl::StrCat(Counts(j.failures, j.trials), ": ", conf, " bounds ",
                          FormatPercent(j.lower_bound, PercentRounding::kDown), " and ",
                          FormatPercent(j.upper_bound, PercentRounding::kUp),
                          " straddle the maximum ", max);
  absl::StatusOr<int64_t> needed =
      AnytimeRunsToClean(options.max_rate, options.confidence, j.failures);
  if (needed.ok() && *needed > j.trials) {
    j.more_clean_runs_for_clean = *needed - j.trials;
    absl::StrAppend(&j.reason, "; ", *j.more_clean_runs_for_clean,
                    " more runs without a failure would make it CLEAN");
  }
  return absl::OkStatus();
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
  return ValidateBoundaryOptions({.max_rate = options.max_rate,
                                  .confidence = options.confidence,
                                  .flaky_family = options.flaky_family});
}

absl::StatusOr<Judgement> Judge(int64_t failures, int64_t trials,
                                const GateOptions& options) {
  FLAKY_RETURN_IF_ERROR(ValidateGateOptions(options));
  FLAKY_ASSIGN_OR_RETURN(Judgement j, Weigh(failures, trials, options));
  const double alpha = 1.0 - options.confidence;
  FLAKY_RETURN_IF_ERROR(
      Decide(options, alpha / static_cast<double>(options.flaky_family),
             options.flaky_family, j));
  return j;
}

int64_t FamilySize(const std::vector<results::CaseSummary>& rows,
                   const GateOptions& options) {
  const int64_t ran = std::count_if(
      rows.begin(), rows.end(),
      [](const results::CaseSummary& row) { return row.trials > 0; });
  return std::max(options.flaky_family, ran);
}

absl::StatusOr<std::vector<TargetVerdict>> JudgeTargets(
    const std::vector<results::CaseSummary>& rows, const GateOptions& options) {
  FLAKY_RETURN_IF_ERROR(ValidateGateOptions(options));
  std::vector<Judgement> judgements;
  judgements.reserve(rows.size());
  for (const results::CaseSummary& row : rows) {
    absl::StatusOr<Judgement> judgement = Weigh(row.failures, row.trials, options);
    if (!judgement.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(row.target, " ", row.test_case, " [", row.profile,
                       "]: ", judgement.status().message()));
    }
    judgements.push_back(*std::move(judgement));
  }

  // Holm's step-down over the rows that ran, strongest evidence first. A
  // row that fails its step stops the procedure: it and every weaker row
  // get the share of that step, which they do not reach either.
  const int64_t family = FamilySize(rows, options);
  const double alpha = 1.0 - options.confidence;
  std::vector<size_t> order(rows.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return judgements[a].log_evidence_above > judgements[b].log_evidence_above;
  });
  int64_t step = 0;
  bool stopped = false;
  for (size_t i : order) {
    const double share = alpha / static_cast<double>(family - step);
    FLAKY_RETURN_IF_ERROR(Decide(options, share, family, judgements[i]));
    if (stopped || judgements[i].trials == 0) {
      // Past the step where Holm stopped nothing is FLAKY, whatever its
      // own evidence against a larger share would say.
      if (judgements[i].verdict == Verdict::kFlaky) {
        return absl::InternalError("Holm's step-down rejected past its stop");
      }
      continue;
    }
    if (judgements[i].verdict == Verdict::kFlaky) {
      ++step;
    } else {
      stopped = true;
    }
  }

  std::vector<TargetVerdict> verdicts;
  std::map<std::pair<std::string, std::string>, size_t> index;
  std::vector<bool> ran;  // per verdict: did any of its cases run?
  for (size_t r = 0; r < rows.size(); ++r) {
    const results::CaseSummary& row = rows[r];
    Judgement& judgement = judgements[r];
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
         Severity(judgement.verdict) > Severity(verdict.verdict));
    ran[it->second] = ran[it->second] || row_ran;
    if (worse) {
      verdict.verdict = judgement.verdict;
      verdict.reason = row.test_case.empty()
                           ? judgement.reason
                           : absl::StrCat(row.test_case, ": ", judgement.reason);
    }
    verdict.cases.push_back(CaseVerdict{row.test_case, std::move(judgement)});
  }
  return verdicts;
}

int64_t HuntFamilySize(const std::vector<results::CaseSummary>& rows,
                       int64_t profile_count) {
  std::set<std::pair<std::string, std::string>> cases;
  for (const results::CaseSummary& row : rows) {
    if (row.trials > 0) cases.emplace(row.target, row.test_case);
  }
  return std::max<int64_t>(1, static_cast<int64_t>(cases.size()) *
                                  std::max<int64_t>(1, profile_count));
}

absl::StatusOr<bool> ProfileSettled(const std::vector<results::CaseSummary>& rows,
                                    absl::string_view profile,
                                    const GateOptions& options) {
  FLAKY_ASSIGN_OR_RETURN(std::vector<TargetVerdict> verdicts,
                         JudgeTargets(rows, options));
  bool any = false;
  for (size_t i = 0; i < verdicts.size(); ++i) {
    const TargetVerdict& verdict = verdicts[i];
    if (verdict.profile != profile) continue;
    const bool ran = std::any_of(
        verdict.cases.begin(), verdict.cases.end(),
        [](const CaseVerdict& c) { return c.judgement.trials > 0; });
    // A target whose cases only ever skip has nothing to decide on; it
    // must not keep the profile running to --runs.
    if (!ran) continue;
    any = true;
    if (verdict.verdict == Verdict::kInconclusive) return false;
  }
  return any;
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
