// The Prometheus metrics of flaky: trials as they happen, flake rates with
// their intervals, verdicts, amplification and build info, registered once
// in a caller-owned prometheus::Registry. Exporting them (pull endpoint,
// Pushgateway, node_exporter textfile) is in exposer.h, pusher.h and
// textfile.h.
//
//   auto registry = std::make_shared<prometheus::Registry>();
//   MetricsOptions options;
//   options.version = "0.1.0";
//   options.commit = "8cd9e98";
//   FLAKY_ASSIGN_OR_RETURN(std::unique_ptr<FlakyMetrics> metrics,
//                          FlakyMetrics::Create(*registry, options));
//   FLAKY_RETURN_IF_ERROR(metrics->RecordTrial(trial));           // live
//   FLAKY_RETURN_IF_ERROR(metrics->UpdateSummaries(summaries, assessments));
//
// Cardinality is bounded: each target keeps at most
// `max_cases_per_target` test_case label values; further cases of that
// target are folded into test_case="other" (counters add up; the rate
// gauges and the amplification of "other" show the folded case with the
// highest rate, the runs-since-last-failure gauge the smallest value, so an
// alert on "other" still fires when any folded case turns flaky). A trial of a target without
// per-case results (Trial::test_case == "") is labelled test_case="all".
// gtest case names contain a dot, so neither "other" nor "all" can collide.
#ifndef FLAKY_METRICS_METRICS_H_
#define FLAKY_METRICS_METRICS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "flaky/results/summary.h"
#include "flaky/results/trial.h"
#include "flaky/stats/verdict.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace flaky::metrics {

// kOtherCase is the test_case label value that folded cases share.
inline constexpr absl::string_view kOtherCase = "other";
// kWholeTargetCase is the test_case label value of trials with no test case.
inline constexpr absl::string_view kWholeTargetCase = "all";

// Verdict is the gate's verdict of a (target, profile) (stats/verdict.h),
// exported as flaky_verdict_state{verdict="..."}: one series per value, 1
// for the current verdict and 0 for the others.
using Verdict = stats::Verdict;

// VerdictLabel returns the label value of `verdict`: stats::VerdictName in
// lowercase ("clean", "flaky", "inconclusive"), as Prometheus label values
// usually are.
std::string VerdictLabel(Verdict verdict);

// CaseEstimate is the flake rate of one (target, test case, profile) with
// its two-sided confidence interval, all in [0, 1] with
// lower <= rate <= upper, and its amplification (>= 0, may be +inf):
// baseline::GaugeValue of baseline::Amplifications, the report's
// definition; none for profile "none", without a "none" row, or when
// neither failed. Computed by the caller (assess.h); metrics only export it.
struct CaseEstimate {
  std::string target;
  std::string test_case;  // as in CaseSummary ("" for the whole target)
  std::string profile;
  double rate = 0;
  double lower = 0;
  double upper = 0;
  std::optional<double> amplification = std::nullopt;
};

// ProfileAssessment is the verdict of one (target, profile) (what
// stats::JudgeTargets returns).
struct ProfileAssessment {
  std::string target;
  std::string profile;
  Verdict verdict = Verdict::kInconclusive;
};

// Assessments are the caller's statistics that go with a set of summaries.
struct Assessments {
  std::vector<CaseEstimate> cases;
  std::vector<ProfileAssessment> profiles;
};

// MetricsOptions configures FlakyMetrics.
struct MetricsOptions {
  // version and commit label flaky_build_info.
  std::string version = "0.1.0";
  std::string commit = "unknown";
  // max_cases_per_target bounds the test_case label values per target (>= 1);
  // further cases fold into test_case="other".
  int max_cases_per_target = 50;
  // duration_buckets are the upper bounds (seconds, strictly increasing) of
  // flaky_trial_duration_seconds.
  std::vector<double> duration_buckets = {0.005, 0.01, 0.025, 0.05, 0.1,
                                          0.25,  0.5,  1,     2.5,  5,
                                          10,    30,   60,    120,  300};
};

// FlakyMetrics owns the metric families of flaky inside a registry that the
// caller owns and must keep alive longer than this object. Thread-safe: any
// method may be called concurrently (a hunt records trials from the runner
// while a scrape serialises the registry).
class FlakyMetrics {
 public:
  // Create registers every family in `registry`. InvalidArgument when
  // `options` are bad (max_cases_per_target < 1, unsorted buckets) or the
  // registry already holds a family of the same name with another type.
  static absl::StatusOr<std::unique_ptr<FlakyMetrics>> Create(
      prometheus::Registry& registry, const MetricsOptions& options);

  ~FlakyMetrics();

  FlakyMetrics(const FlakyMetrics&) = delete;
  FlakyMetrics& operator=(const FlakyMetrics&) = delete;

  // RecordTrial counts `trial` in flaky_trials_total and observes its
  // duration in flaky_trial_duration_seconds. InvalidArgument when the trial
  // has no target or profile, or a negative duration.
  absl::Status RecordTrial(const results::Trial& trial);

  // UpdateSummaries sets the gauges (rate and bounds, verdicts,
  // amplification, runs since last failure) to `summaries` and
  // `assessments`, and raises flaky_trials_total to each summary's
  // by_outcome count where it is lower (counters never go down, so trials
  // recorded live are not counted twice). Gauge series absent from this
  // update are removed. A summary without a matching CaseEstimate exports no
  // rate gauges. InvalidArgument (naming the offending key) for an estimate
  // outside [0, 1] or with lower > rate > upper or a negative or NaN
  // amplification, or an estimate or assessment with no target.
  absl::Status UpdateSummaries(const std::vector<results::CaseSummary>& summaries,
                               const Assessments& assessments);

  // CaseLabel returns the test_case label value that `test_case` of `target`
  // is exported under, admitting it when the target has room.
  std::string CaseLabel(absl::string_view target, absl::string_view test_case);

 private:
  struct Families;
  FlakyMetrics(std::unique_ptr<Families> families,
               const MetricsOptions& options);

  std::string CaseLabelLocked(const std::string& target,
                              const std::string& test_case);
  prometheus::Counter& TrialsCounterLocked(const std::string& target,
                                           const std::string& case_label,
                                           const std::string& profile,
                                           absl::string_view outcome);

  const MetricsOptions options_;
  std::unique_ptr<Families> families_;

  std::mutex mutex_;
  // Admitted test cases per target (excluding the fold).
  std::map<std::string, std::set<std::string>> admitted_;
  // Series fetched once and kept, keyed by their label values.
  std::map<std::tuple<std::string, std::string, std::string, std::string>,
           prometheus::Counter*>
      trials_;
  std::map<std::pair<std::string, std::string>, prometheus::Histogram*>
      durations_;
  // Gauge series set by the last UpdateSummaries, to remove stale ones.
  std::vector<std::pair<prometheus::Family<prometheus::Gauge>*,
                        prometheus::Gauge*>>
      gauges_;
};

}  // namespace flaky::metrics

#endif  // FLAKY_METRICS_METRICS_H_
