// Wald's sequential probability ratio test (SPRT) for a flake rate: stop a
// hunt as soon as the runs so far tell "rate <= p0" from "rate >= p1" with
// error rates alpha and beta, instead of running a fixed budget.
//
//   SprtOptions options{.p0 = 0.001, .p1 = 0.01, .alpha = 0.05, .beta = 0.05};
//   SprtMonitor monitor(options);            // options validated beforehand
//   for (const Trial& t : trials) {
//     if (monitor.Observe(IsFailure(t.outcome)) != SprtDecision::kContinue) break;
//   }
//   // kAcceptH1 -> FLAKY, kAcceptH0 -> CLEAN (in the SPRT's sense, below),
//   // still kContinue when the budget is spent -> the caller says INCONCLUSIVE.
//
// Thresholds (Wald 1945). After k failures in n runs the log-likelihood
// ratio is
//   LLR = k ln(p1 / p0) + (n - k) ln((1 - p1) / (1 - p0)).
// Accept H1 when LLR >= ln((1 - beta) / alpha); accept H0 when
// LLR <= ln(beta / (1 - alpha)); otherwise continue. Wald's bounds give
// P(accept H1 | rate <= p0) <= alpha / (1 - beta) and
// P(accept H0 | rate >= p1) <= beta / (1 - alpha), i.e. about alpha and beta.
// Checking only after batches of runs (as a runner does) keeps these bounds
// (it can only miss crossings) but may need a few more runs.
//
// The SPRT's CLEAN ("closer to p0 than to p1") is NOT the planner's claim
// "rate below p at confidence c" (binomial.h): with p0 = 0.1%, p1 = 1% the
// SPRT accepts H0 after 326 clean runs, while "below 0.1% at 95%" needs
// 2995. The merge gate (gate.h) therefore uses the SPRT only to call FLAKY
// early, and the one-sided exact bound to call CLEAN.
//
// Functions are pure and thread-safe; an SprtMonitor is not thread-safe.
#ifndef FLAKY_STATS_SPRT_H_
#define FLAKY_STATS_SPRT_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace flaky::stats {

// SprtOptions are the two hypotheses and the error rates.
struct SprtOptions {
  double p0 = 0.001;  // H0: rate <= p0 ("clean enough")
  double p1 = 0.01;   // H1: rate >= p1 ("flaky"); p0 < p1
  double alpha = 0.05;  // P(accept H1 | H0 true), about
  double beta = 0.05;   // P(accept H0 | H1 true), about
};

// ValidateSprtOptions returns InvalidArgument unless 0 < p0 < p1 < 1 and
// alpha, beta are in (0, 0.5).
absl::Status ValidateSprtOptions(const SprtOptions& options);

// SprtDecision is the state of the test.
enum class SprtDecision { kContinue, kAcceptH0, kAcceptH1 };

// SprtDecisionName returns "continue", "accept_h0" or "accept_h1".
absl::string_view SprtDecisionName(SprtDecision decision);

// SprtResult is the decision with the numbers behind it. Plain data.
struct SprtResult {
  SprtDecision decision = SprtDecision::kContinue;
  double log_likelihood_ratio = 0.0;
  double accept_h0_threshold = 0.0;  // ln(beta / (1 - alpha)), negative
  double accept_h1_threshold = 0.0;  // ln((1 - beta) / alpha), positive
};

// EvaluateSprt compares the LLR of k failures in n trials with the
// thresholds (a single look; see SprtMonitor for the sequential use).
// Errors: InvalidArgument for bad options or counts (0 <= k <= n, n >= 0).
absl::StatusOr<SprtResult> EvaluateSprt(const SprtOptions& options,
                                        int64_t failures, int64_t trials);

// SprtRunsToAcceptH0 returns how many runs without a failure the SPRT needs
// to accept H0: ceil(ln(beta / (1 - alpha)) / ln((1 - p1) / (1 - p0))).
// Errors: InvalidArgument for bad options.
absl::StatusOr<int64_t> SprtRunsToAcceptH0(const SprtOptions& options);

// SprtExpectedRuns is Wald's approximation of the average number of runs
// the SPRT takes when the true rate is p0 and when it is p1:
//   E[N | p] ~ (L(p) ln(beta/(1-alpha)) + (1 - L(p)) ln((1-beta)/alpha)) / E_p[z]
// with L(p0) = 1 - alpha, L(p1) = beta and E_p[z] the expected LLR step. It
// ignores the overshoot of the last step, so real hunts take a little more.
struct SprtExpectedRuns {
  double at_p0 = 0.0;
  double at_p1 = 0.0;
};

// ExpectedSprtRuns returns SprtExpectedRuns. Errors: InvalidArgument for
// bad options.
absl::StatusOr<SprtExpectedRuns> ExpectedSprtRuns(const SprtOptions& options);

// SprtMonitor feeds the SPRT one run at a time and keeps the first
// decision reached (later runs do not undo it). Not thread-safe.
class SprtMonitor {
 public:
  // `options` must have passed ValidateSprtOptions (programmer error if not:
  // the decision is then meaningless).
  explicit SprtMonitor(const SprtOptions& options);

  // Observe records one run and returns the (possibly earlier) decision.
  SprtDecision Observe(bool failed);

  // decision, failures and trials so far (trials counts runs up to the
  // decision only, since that is what the decision is based on).
  SprtDecision decision() const { return decision_; }
  int64_t failures() const { return failures_; }
  int64_t trials() const { return trials_; }
  double log_likelihood_ratio() const { return llr_; }

 private:
  double failure_step_;
  double pass_step_;
  double accept_h0_;
  double accept_h1_;
  SprtDecision decision_ = SprtDecision::kContinue;
  int64_t failures_ = 0;
  int64_t trials_ = 0;
  double llr_ = 0.0;
};

}  // namespace flaky::stats

#endif  // FLAKY_STATS_SPRT_H_
