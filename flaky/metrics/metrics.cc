#include "flaky/metrics/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "base/status_macros.h"
#include "base/utf8.h"
#include "flaky/metrics/boundary.h"

namespace flaky::metrics {

namespace {

using CaseKey = std::tuple<std::string, std::string, std::string>;

constexpr Verdict kAllVerdicts[] = {Verdict::kClean, Verdict::kFlaky,
                                    Verdict::kInconclusive};

std::string CaseName(absl::string_view test_case) {
  return test_case.empty() ? std::string(kWholeTargetCase)
                           : std::string(test_case);
}

std::string KeyText(const std::string& target, const std::string& test_case,
                    const std::string& profile) {
  return absl::StrCat("(target=", target, ", test_case=", test_case,
                      ", profile=", profile, ")");
}

absl::Status ValidateEstimate(const CaseEstimate& e) {
  const std::string key = KeyText(e.target, e.test_case, e.profile);
  if (e.target.empty() || e.profile.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "flake rate estimate ", key, " has no target or profile"));
  }
  auto in_unit = [](double x) { return x >= 0 && x <= 1; };  // false for NaN
  if (!in_unit(e.rate) || !in_unit(e.lower) || !in_unit(e.upper) ||
      e.lower > e.rate || e.rate > e.upper) {
    return absl::InvalidArgumentError(absl::StrCat(
        "flake rate estimate ", key, " is not 0 <= lower <= rate <= upper <= 1 (lower=",
        e.lower, ", rate=", e.rate, ", upper=", e.upper,
        "): pass the stats library's interval unchanged"));
  }
  if (e.amplification.has_value() &&
      (std::isnan(*e.amplification) || *e.amplification < 0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "amplification of ", key, " is ", *e.amplification,
        ": it must be >= 0 (or +inf)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateAssessment(const ProfileAssessment& a) {
  if (a.target.empty() || a.profile.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "verdict for (target=", a.target, ", profile=", a.profile,
        ") has no target or profile"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string VerdictLabel(Verdict verdict) {
  return absl::AsciiStrToLower(stats::VerdictName(verdict));
}

struct FlakyMetrics::Families {
  prometheus::Family<prometheus::Counter>* trials = nullptr;
  prometheus::Family<prometheus::Histogram>* duration = nullptr;
  prometheus::Family<prometheus::Gauge>* rate = nullptr;
  prometheus::Family<prometheus::Gauge>* rate_lower = nullptr;
  prometheus::Family<prometheus::Gauge>* rate_upper = nullptr;
  prometheus::Family<prometheus::Gauge>* verdict = nullptr;
  prometheus::Family<prometheus::Gauge>* amplification = nullptr;
  prometheus::Family<prometheus::Gauge>* runs_since_failure = nullptr;
  prometheus::Family<prometheus::Gauge>* build_info = nullptr;
};

absl::StatusOr<std::unique_ptr<FlakyMetrics>> FlakyMetrics::Create(
    prometheus::Registry& registry, const MetricsOptions& options) {
  if (options.max_cases_per_target < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_cases_per_target is ", options.max_cases_per_target,
        ": it must be at least 1"));
  }
  const std::vector<double>& buckets = options.duration_buckets;
  for (size_t i = 0; i < buckets.size(); ++i) {
    if (!std::isfinite(buckets[i]) || buckets[i] <= 0 ||
        (i > 0 && buckets[i] <= buckets[i - 1])) {
      return absl::InvalidArgumentError(absl::StrCat(
          "duration bucket ", i, " (", buckets[i],
          ") is not positive, finite and greater than the one before it"));
    }
  }
  auto families = std::make_unique<Families>();
  Families& f = *families;
  FLAKY_RETURN_IF_ERROR(CallPrometheus("registering flaky's metric families", [&] {
    f.trials = &prometheus::BuildCounter()
                    .Name("flaky_trials_total")
                    .Help("Trials (executions of one test case) by outcome.")
                    .Register(registry);
    f.duration = &prometheus::BuildHistogram()
                      .Name("flaky_trial_duration_seconds")
                      .Help("Duration of one trial, in seconds.")
                      .Register(registry);
    f.rate = &prometheus::BuildGauge()
                  .Name("flaky_flake_rate_ratio")
                  .Help("Estimated flake rate (failed / counted trials).")
                  .Register(registry);
    f.rate_lower = &prometheus::BuildGauge()
                        .Name("flaky_flake_rate_lower_ratio")
                        .Help("Lower bound of the flake rate's confidence interval.")
                        .Register(registry);
    f.rate_upper = &prometheus::BuildGauge()
                        .Name("flaky_flake_rate_upper_ratio")
                        .Help("Upper bound of the flake rate's confidence interval.")
                        .Register(registry);
    f.verdict = &prometheus::BuildGauge()
                     .Name("flaky_verdict_state")
                     .Help("Sequential verdict per target and profile: 1 for the "
                           "current verdict label value, 0 for the others.")
                     .Register(registry);
    f.amplification =
        &prometheus::BuildGauge()
             .Name("flaky_amplification_ratio")
             .Help("Flake rate under the profile divided by the rate under "
                   "profile none, same target and test case (the report's "
                   "bound when one side never failed).")
             .Register(registry);
    f.runs_since_failure =
        &prometheus::BuildGauge()
             .Name("flaky_runs_since_last_failure")
             .Help("Trials of the case since its most recent failure (all "
                   "of them when it never failed).")
             .Register(registry);
    f.build_info = &prometheus::BuildGauge()
                        .Name("flaky_build_info")
                        .Help("Always 1; labels carry flaky's version and commit.")
                        .Register(registry);
    f.build_info->Add({{"version", options.version}, {"commit", options.commit}})
        .Set(1);
  }));
  return std::unique_ptr<FlakyMetrics>(
      new FlakyMetrics(std::move(families), options));
}

FlakyMetrics::FlakyMetrics(std::unique_ptr<Families> families,
                           const MetricsOptions& options)
    : options_(options), families_(std::move(families)) {}

FlakyMetrics::~FlakyMetrics() = default;

std::string FlakyMetrics::CaseLabel(absl::string_view target,
                                    absl::string_view test_case) {
  std::lock_guard<std::mutex> lock(mutex_);
  return CaseLabelLocked(std::string(target), CaseName(test_case));
}

std::string FlakyMetrics::CaseLabelLocked(const std::string& target,
                                          const std::string& test_case) {
  std::set<std::string>& admitted = admitted_[target];
  if (admitted.count(test_case) > 0) return test_case;
  if (static_cast<int>(admitted.size()) < options_.max_cases_per_target) {
    admitted.insert(test_case);
    return test_case;
  }
  return std::string(kOtherCase);
}

prometheus::Counter& FlakyMetrics::TrialsCounterLocked(
    const std::string& target, const std::string& case_label,
    const std::string& profile, absl::string_view outcome) {
  auto key = std::make_tuple(target, case_label, profile, std::string(outcome));
  auto it = trials_.find(key);
  if (it != trials_.end()) return *it->second;
  prometheus::Counter& counter =
      families_->trials->Add({{"target", ValidUtf8(target)},
                              {"test_case", ValidUtf8(case_label)},
                              {"profile", ValidUtf8(profile)},
                              {"outcome", std::string(outcome)}});
  trials_.emplace(std::move(key), &counter);
  return counter;
}

absl::Status FlakyMetrics::RecordTrial(const results::Trial& trial) {
  if (trial.target.empty() || trial.profile.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "trial ", KeyText(trial.target, trial.test_case, trial.profile),
        " run ", trial.run, " has no target or profile"));
  }
  if (trial.duration < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "trial ", KeyText(trial.target, trial.test_case, trial.profile),
        " run ", trial.run, " has a negative duration ",
        absl::FormatDuration(trial.duration)));
  }
  std::lock_guard<std::mutex> lock(mutex_);
  return CallPrometheus("recording a trial", [&] {
    const std::string case_label =
        CaseLabelLocked(trial.target, CaseName(trial.test_case));
    TrialsCounterLocked(trial.target, case_label, trial.profile,
                        results::OutcomeName(trial.outcome))
        .Increment();
    auto key = std::make_pair(trial.target, trial.profile);
    auto it = durations_.find(key);
    if (it == durations_.end()) {
      prometheus::Histogram& histogram = families_->duration->Add(
          {{"target", ValidUtf8(trial.target)}, {"profile", ValidUtf8(trial.profile)}},
          options_.duration_buckets);
      it = durations_.emplace(std::move(key), &histogram).first;
    }
    it->second->Observe(absl::ToDoubleSeconds(trial.duration));
  });
}

absl::Status FlakyMetrics::UpdateSummaries(
    const std::vector<results::CaseSummary>& summaries,
    const Assessments& assessments) {
  std::map<CaseKey, const CaseEstimate*> estimates;
  for (const CaseEstimate& e : assessments.cases) {
    FLAKY_RETURN_IF_ERROR(ValidateEstimate(e));
    estimates[CaseKey(e.target, CaseName(e.test_case), e.profile)] = &e;
  }
  for (const ProfileAssessment& a : assessments.profiles) {
    FLAKY_RETURN_IF_ERROR(ValidateAssessment(a));
  }
  for (const results::CaseSummary& s : summaries) {
    if (s.target.empty() || s.profile.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "summary ", KeyText(s.target, s.test_case, s.profile),
          " has no target or profile"));
    }
  }

  std::lock_guard<std::mutex> lock(mutex_);

  // Admission order for new cases: the most flaky first, so the cases that
  // matter keep their own series when a target has more than the limit.
  struct CaseRank {
    double rate = -1;
    int64_t failures = 0;
  };
  std::map<std::string, std::map<std::string, CaseRank>> cases_by_target;
  for (const results::CaseSummary& s : summaries) {
    const std::string name = CaseName(s.test_case);
    CaseRank& rank = cases_by_target[s.target][name];
    auto it = estimates.find(CaseKey(s.target, name, s.profile));
    if (it != estimates.end()) rank.rate = std::max(rank.rate, it->second->rate);
    rank.failures = std::max(rank.failures, s.failures);
  }
  std::map<std::pair<std::string, std::string>, std::string> label_of;
  for (const auto& [target, cases] : cases_by_target) {
    std::vector<std::pair<std::string, CaseRank>> order(cases.begin(),
                                                        cases.end());
    const std::set<std::string>& admitted = admitted_[target];
    std::stable_sort(order.begin(), order.end(),
                     [&](const auto& a, const auto& b) {
                       const bool a_in = admitted.count(a.first) > 0;
                       const bool b_in = admitted.count(b.first) > 0;
                       if (a_in != b_in) return a_in;
                       if (a.second.rate != b.second.rate) {
                         return a.second.rate > b.second.rate;
                       }
                       return a.second.failures > b.second.failures;
                     });
    for (const auto& [name, rank] : order) {
      label_of[{target, name}] = CaseLabelLocked(target, name);
    }
  }

  // Aggregate per exported series (folded cases share one).
  struct Series {
    std::map<std::string, int64_t> by_outcome;
    const CaseEstimate* estimate = nullptr;
    std::optional<int64_t> runs_since_failure;
  };
  std::map<CaseKey, Series> series;
  for (const results::CaseSummary& s : summaries) {
    const std::string name = CaseName(s.test_case);
    const std::string& label = label_of[{s.target, name}];
    Series& out = series[CaseKey(s.target, label, s.profile)];
    for (const auto& [outcome, count] : s.by_outcome) {
      out.by_outcome[std::string(results::OutcomeName(outcome))] += count;
    }
    auto it = estimates.find(CaseKey(s.target, name, s.profile));
    if (it != estimates.end()) {
      const CaseEstimate* e = it->second;
      if (out.estimate == nullptr || e->rate > out.estimate->rate ||
          (e->rate == out.estimate->rate && e->upper > out.estimate->upper)) {
        out.estimate = e;
      }
    }
    out.runs_since_failure =
        out.runs_since_failure.has_value()
            ? std::min(*out.runs_since_failure, s.trials_since_last_failure)
            : s.trials_since_last_failure;
  }

  return CallPrometheus("updating summary metrics", [&] {
    std::vector<std::pair<prometheus::Family<prometheus::Gauge>*,
                          prometheus::Gauge*>>
        touched;
    auto set = [&](prometheus::Family<prometheus::Gauge>* family,
                   const prometheus::Labels& labels, double value) {
      prometheus::Gauge& gauge = family->Add(labels);
      gauge.Set(value);
      touched.emplace_back(family, &gauge);
    };
    for (const auto& [key, s] : series) {
      const auto& [target, label, profile] = key;
      for (const auto& [outcome, count] : s.by_outcome) {
        prometheus::Counter& counter =
            TrialsCounterLocked(target, label, profile, outcome);
        const double missing = static_cast<double>(count) - counter.Value();
        if (missing > 0) counter.Increment(missing);
      }
      const prometheus::Labels labels = {
          {"target", ValidUtf8(target)},
          {"test_case", ValidUtf8(label)},
          {"profile", ValidUtf8(profile)}};
      if (s.estimate != nullptr) {
        set(families_->rate, labels, s.estimate->rate);
        set(families_->rate_lower, labels, s.estimate->lower);
        set(families_->rate_upper, labels, s.estimate->upper);
        if (s.estimate->amplification.has_value()) {
          set(families_->amplification, labels, *s.estimate->amplification);
        }
      }
      if (s.runs_since_failure.has_value()) {
        set(families_->runs_since_failure, labels,
            static_cast<double>(*s.runs_since_failure));
      }
    }
    for (const ProfileAssessment& a : assessments.profiles) {
      for (Verdict v : kAllVerdicts) {
        set(families_->verdict,
            {{"target", ValidUtf8(a.target)},
             {"profile", ValidUtf8(a.profile)},
             {"verdict", VerdictLabel(v)}},
            v == a.verdict ? 1 : 0);
      }
    }
    std::sort(touched.begin(), touched.end());
    for (const auto& old : gauges_) {
      if (!std::binary_search(touched.begin(), touched.end(), old)) {
        old.first->Remove(old.second);
      }
    }
    gauges_ = std::move(touched);
  });
}

}  // namespace flaky::metrics
