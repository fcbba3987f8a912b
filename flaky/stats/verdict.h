// The verdict rule: FLAKY, CLEAN or INCONCLUSIVE per (target, profile) from
// its trials, and the exit code of `flaky gate`. It is the only rule flaky
// applies: the gate, --until_decided, --budget, verify, reports, live
// metrics and pushes all read their verdicts from JudgeTargets.
//
//   GateOptions options{.max_rate = 0.001, .confidence = 0.95};
//   Judge(0, 3332, options)->verdict;  // kClean: rate below 0.1% at 95%
//   Judge(3, 40, options)->verdict;    // kFlaky: rate above 0.1% at 95%
//   Judge(0, 200, options)->verdict;   // kInconclusive: 3132 more clean runs
//   absl::StatusOr<std::vector<TargetVerdict>> v = JudgeTargets(rows, options);
//   return GateExitCode(*v);           // 0 clean, 1 flaky, 2 inconclusive
//
// The rule, for k failures in n runs, max rate m and confidence c, with
// the anytime-valid evidences of anytime.h:
//   1. n == 0                                         -> INCONCLUSIVE
//   2. evidence above m >= (family share) / (1 - c)   -> FLAKY
//   3. evidence below m >= 1 / (1 - c)                -> CLEAN
//   4. otherwise                                      -> INCONCLUSIVE
// Rules 2 and 3 never hold together (anytime_test checks every count up to
// 10^5 runs).
//
// Errors, and why they hold however often the verdict is looked at: by
// Ville's inequality (anytime.h) a test whose rate is at most m is EVER
// called FLAKY with probability at most 1 - c, and a test whose rate is at
// least m is EVER called CLEAN with probability at most 1 - c, whatever
// the stopping rule: after every run, every round, every scrape, or never
// stopping. anytime_test computes both exactly and by simulation.
//
// Multiplicity. A gate judges a family of hypotheses at once: every
// (target, profile, case) that ran. FLAKY fails the gate if any of them is
// FLAKY, so FLAKY is controlled family-wise by Holm's step-down procedure
// on the anytime p-values p = min(1, 1 / evidence above): sort them, and
// the i-th smallest (from 0) is FLAKY while p <= (1 - c) / (m - i). The
// chance of any false FLAKY in the family then stays within 1 - c, again
// at every look (Holm needs only each p-value's own validity, which the
// anytime p-values have uniformly in time). CLEAN needs no correction: the
// gate passes only when every member is CLEAN, and each CLEAN alone holds
// at c. GateOptions::flaky_family raises the family size to what a hunt
// will judge in the end, so a profile stopped FLAKY early stays FLAKY when
// the other profiles' rows arrive.
//
// A target with several test cases is judged per case; the (target,
// profile) verdict is the worst of its cases (FLAKY > INCONCLUSIVE > CLEAN).
// A profile that starves the test is a legitimate way to expose a race, so
// FLAKY under any profile makes the gate fail.
//
// All functions are pure and thread-safe.
#ifndef FLAKY_STATS_VERDICT_H_
#define FLAKY_STATS_VERDICT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "flaky/results/summary.h"

namespace flaky::stats {

// Verdict is the gate's answer for one (target[, case], profile).
enum class Verdict { kClean, kFlaky, kInconclusive };

// VerdictName returns "CLEAN", "FLAKY" or "INCONCLUSIVE".
absl::string_view VerdictName(Verdict verdict);

// GateOptions are the rule's parameters (--max_rate, --confidence).
struct GateOptions {
  double max_rate = 0.001;
  double confidence = 0.95;
  // flaky_family is the least number of hypotheses FLAKY's error is shared
  // by; JudgeTargets uses the larger of it and the rows that ran.
  int64_t flaky_family = 1;
};

// ValidateGateOptions returns InvalidArgument unless 0 < max_rate < 1,
// 0 < confidence < 1 and flaky_family >= 1, naming the flag.
absl::Status ValidateGateOptions(const GateOptions& options);

// Judgement is the verdict on k failures in n runs with its evidence.
struct Judgement {
  Verdict verdict = Verdict::kInconclusive;
  int64_t failures = 0;
  int64_t trials = 0;
  // Anytime-valid one-sided bounds: lower at the confidence FLAKY was
  // tested at (Holm's share of the family), upper at the rule's confidence
  // (0 and 1 when n == 0).
  double lower_bound = 0.0;
  double upper_bound = 1.0;
  // log of the evidences at max_rate (anytime.h) and the anytime p-value
  // of "rate above max_rate", min(1, exp(-log_evidence_above)).
  double log_evidence_above = 0.0;
  double log_evidence_below = 0.0;
  double p_value_above = 1.0;
  // The FLAKY test's error share: (1 - confidence) / (members left in
  // Holm's step-down when this one was tested); the rule's 1 - confidence
  // for a family of one.
  double flaky_alpha = 0.05;
  int64_t family = 1;  // hypotheses FLAKY was corrected for
  // When INCONCLUSIVE with these failures: clean runs still needed for
  // CLEAN; nullopt otherwise.
  std::optional<int64_t> more_clean_runs_for_clean;
  std::string reason;  // one line: which rule decided and the numbers
};

// Judge applies the rule to one hypothesis as a member of a family of
// options.flaky_family (Bonferroni: the strictest step of Holm's).
// Errors: InvalidArgument for bad options or counts (0 <= failures <= trials).
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
// appearance and judges each by its worst case, with Holm's correction of
// FLAKY over every row that ran (file comment). Cases that never ran
// (trials == 0: skipped or filtered) count only when no case of the target
// ran, which makes it INCONCLUSIVE. Errors: InvalidArgument for bad options
// or a row with inconsistent counts (names the row).
absl::StatusOr<std::vector<TargetVerdict>> JudgeTargets(
    const std::vector<results::CaseSummary>& rows, const GateOptions& options);

// FamilySize returns how many hypotheses JudgeTargets corrects FLAKY for:
// the larger of options.flaky_family and the rows with trials.
int64_t FamilySize(const std::vector<results::CaseSummary>& rows,
                   const GateOptions& options);

// HuntFamilySize returns the family a hunt of `profile_count` profiles
// will judge in the end: its distinct (target, case) pairs that ran, times
// the profiles (at least 1). A hunt sets GateOptions::flaky_family to it
// so that stopping one profile early agrees with the final report.
int64_t HuntFamilySize(const std::vector<results::CaseSummary>& rows,
                       int64_t profile_count);

// ProfileSettled returns whether --until_decided may stop `profile`: every
// target that ran under it has a verdict (FLAKY or CLEAN) by JudgeTargets
// over all `rows` (every profile's: the family). False while nothing ran.
// Errors: as JudgeTargets.
absl::StatusOr<bool> ProfileSettled(const std::vector<results::CaseSummary>& rows,
                                    absl::string_view profile,
                                    const GateOptions& options);

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

#endif  // FLAKY_STATS_VERDICT_H_
