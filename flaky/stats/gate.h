// The merge gate's decision rule: FLAKY, CLEAN or INCONCLUSIVE per
// (target, profile) from its trials, and the exit code of `flaky gate`.
//
//   GateOptions options{.max_rate = 0.001, .confidence = 0.95};
//   Judge(0, 3000, options)->verdict;  // kClean: rate below 0.1% at 95%
//   Judge(2, 40, options)->verdict;    // kFlaky: rate above 0.89% at 95%
//   Judge(0, 200, options)->verdict;   // kInconclusive: 2795 more clean runs
//   absl::StatusOr<std::vector<TargetVerdict>> v = JudgeTargets(rows, options);
//   return GateExitCode(*v);           // 0 clean, 1 flaky, 2 inconclusive
//
// The rule, for k failures in n runs, max rate m and confidence c:
//   1. n == 0                                   -> INCONCLUSIVE (no trials)
//   2. exact one-sided lower bound at c > m     -> FLAKY
//   3. options.sprt set and the SPRT accepts H1 -> FLAKY
//   4. exact one-sided upper bound at c < m     -> CLEAN
//   5. otherwise                                -> INCONCLUSIVE
// Rules 2 and 4 cannot both hold (the lower bound is below the upper one),
// so the order only matters for rule 3, where a FLAKY from the SPRT wins.
// Each of rules 2 and 4 is wrong with probability at most 1 - c when applied
// once to a fixed budget; rule 4 is exactly the planner's claim (plan.h), so
// `flaky plan` tells how many runs CLEAN needs. A hunt that re-evaluates the
// verdict after every round to stop early must say how many times it may
// look (GateOptions::looks): checking a fixed-sample rule repeatedly
// inflates its error, and the Bonferroni split keeps it within 1 - c
// (gate_test checks this exactly for a 10-look design). The SPRT's own CLEAN is not
// used: it does not establish "rate below m at confidence c" (see sprt.h).
// For the SPRT's FLAKY to mean "rate above m" its p0 must be >= m
// (ValidateGateOptions checks). With p0 = m and alpha = 1 - c the SPRT's
// FLAKY region at a single look lies inside rule 2's (checked numerically),
// so rule 3 matters for a runner that stopped early on a more liberal SPRT:
// the gate then agrees with the reason the hunt stopped.
//
// A target with several test cases is judged per case; the (target,
// profile) verdict is the worst of its cases (FLAKY > INCONCLUSIVE > CLEAN).
// No multiple-comparison correction is applied: each case's CLEAN holds at
// confidence c on its own. A profile that starves the test is a legitimate
// way to expose a race, so FLAKY under any profile makes the gate fail.
//
// All functions are pure and thread-safe.
#ifndef FLAKY_STATS_GATE_H_
#define FLAKY_STATS_GATE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "flaky/results/summary.h"
#include "flaky/stats/sprt.h"

namespace flaky::stats {

// Verdict is the gate's answer for one (target[, case], profile).
enum class Verdict { kClean, kFlaky, kInconclusive };

// VerdictName returns "CLEAN", "FLAKY" or "INCONCLUSIVE".
absl::string_view VerdictName(Verdict verdict);

// GateOptions are the gate's flags (--max-rate, --confidence, optional SPRT).
struct GateOptions {
  double max_rate = 0.001;
  double confidence = 0.95;
  std::optional<SprtOptions> sprt;
  // looks is how many times a hunt evaluates the verdict to stop early
  // (1: once, at the end of the budget). Each look then uses confidence
  // 1 - (1 - confidence) / looks (Bonferroni), so the chance that any of
  // them errs stays within 1 - confidence.
  int looks = 1;
};

// PerLookConfidence is the confidence each look uses (see GateOptions).
double PerLookConfidence(const GateOptions& options);

// ValidateGateOptions returns InvalidArgument unless 0 < max_rate < 1,
// 0 < confidence < 1, looks >= 1, and a given SPRT is valid with
// p0 >= max_rate.
absl::Status ValidateGateOptions(const GateOptions& options);

// Judgement is the verdict on k failures in n runs with its evidence.
struct Judgement {
  Verdict verdict = Verdict::kInconclusive;
  int64_t failures = 0;
  int64_t trials = 0;
  // Exact one-sided bounds at PerLookConfidence (0 and 1 when n == 0).
  double lower_bound = 0.0;
  double upper_bound = 1.0;
  std::optional<SprtResult> sprt;
  // When INCONCLUSIVE with these failures: clean runs still needed for
  // CLEAN (RunsToClaimBelow - trials); nullopt otherwise.
  std::optional<int64_t> more_clean_runs_for_clean;
  std::string reason;  // one line: which rule decided and the numbers
};

// Judge applies the rule above. Errors: InvalidArgument for bad options or
// counts (0 <= failures <= trials).
absl::StatusOr<Judgement> Judge(int64_t failures, int64_t trials,
                                const GateOptions& options);

// CaseVerdict is one test case's judgement.
struct CaseVerdict {
  std::string test_case;
  Judgement judgement;
};

// TargetVerdict is the verdict per (target, profile) with its cases.
struct TargetVerdict {
  std::string target;
  std::string profile;
  Verdict verdict = Verdict::kInconclusive;
  std::string reason;  // the deciding case's reason, prefixed with its name
  std::vector<CaseVerdict> cases;  // in input order
};

// JudgeTargets groups `rows` by (target, profile) in order of first
// appearance and judges each by its worst case. Cases that never ran
// (trials == 0: skipped or filtered) count only when no case of the target
// ran, which makes it INCONCLUSIVE. Errors: InvalidArgument for bad options or a
// row with inconsistent counts (names the row).
absl::StatusOr<std::vector<TargetVerdict>> JudgeTargets(
    const std::vector<results::CaseSummary>& rows, const GateOptions& options);

// Exit codes of `flaky gate`.
inline constexpr int kGateExitClean = 0;
inline constexpr int kGateExitFlaky = 1;
inline constexpr int kGateExitInconclusive = 2;
inline constexpr int kGateExitUsage = 3;  // usage or environment error

// GateExitCode returns kGateExitFlaky if any verdict is FLAKY, else
// kGateExitInconclusive if any is INCONCLUSIVE, else kGateExitClean; an
// empty list (nothing was judged) is kGateExitUsage.
int GateExitCode(const std::vector<TargetVerdict>& verdicts);

}  // namespace flaky::stats

#endif  // FLAKY_STATS_GATE_H_
