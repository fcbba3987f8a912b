#include "flaky/stats/anytime.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "base/status_macros.h"
#include "flaky/stats/special_functions.h"

namespace flaky::stats {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Weights proportional to 1/j for odds ratio 2^j, j = 1..10: 1/j over
// these j sums to H_10 = 7381/2520, so w_j = 2520 / (7381 j).
constexpr double kH10 = 7381.0 / 2520.0;
constexpr std::array<MixtureComponent, 10> kAbove = {{
    {1.0 / (1 * kH10), 2.0},
    {1.0 / (2 * kH10), 4.0},
    {1.0 / (3 * kH10), 8.0},
    {1.0 / (4 * kH10), 16.0},
    {1.0 / (5 * kH10), 32.0},
    {1.0 / (6 * kH10), 64.0},
    {1.0 / (7 * kH10), 128.0},
    {1.0 / (8 * kH10), 256.0},
    {1.0 / (9 * kH10), 512.0},
    {1.0 / (10 * kH10), 1024.0},
}};

constexpr std::array<MixtureComponent, 4> kBelow = {{
    {1.0 / 2.0, 0.0},
    {1.0 / 6.0, 0.5},
    {1.0 / 6.0, 0.25},
    {1.0 / 6.0, 0.125},
}};

// log sum_j w_j c_j^k (1 + r (c_j - 1))^(-n), summed in log space: the
// terms reach e^(n r) for n r in the thousands.
double LogMixture(absl::Span<const MixtureComponent> mixture, int64_t failures,
                  int64_t trials, double rate) {
  double terms[16];
  int count = 0;
  double largest = -kInf;
  for (const MixtureComponent& component : mixture) {
    double log_term;
    if (component.odds_ratio == 0.0) {
      // The alternative "never fails": zero likelihood once one run failed.
      if (failures > 0) continue;
      log_term = std::log(component.weight) -
                 static_cast<double>(trials) * std::log1p(-rate);
    } else {
      log_term = std::log(component.weight) +
                 static_cast<double>(failures) * std::log(component.odds_ratio) -
                 static_cast<double>(trials) *
                     std::log1p(rate * (component.odds_ratio - 1.0));
    }
    terms[count++] = log_term;
    largest = std::max(largest, log_term);
  }
  if (count == 0 || largest == -kInf) return -kInf;
  if (largest == kInf) return kInf;
  double sum = 0.0;
  for (int i = 0; i < count; ++i) sum += std::exp(terms[i] - largest);
  return largest + std::log(sum);
}

absl::Status ValidateRate(double max_rate, double confidence) {
  if (!(max_rate > 0.0 && max_rate < 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--max_rate must be strictly between 0 and 1 (e.g. 0.001 for 0.1%), got ",
        max_rate));
  }
  if (!(confidence > 0.0 && confidence < 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--confidence must be strictly between 0 and 1 (e.g. 0.95), got ",
        confidence));
  }
  return absl::OkStatus();
}

// Bisection on log(rate) over (1e-300, 1): the evidences are monotone in
// the rate, and a relative precision of 1e-12 is far below what any report
// prints. `rejects(r)` must be true on one side of the answer only.
template <typename Rejects>
double BisectRate(Rejects rejects, bool rejects_below) {
  double lo = std::log(1e-300);
  double hi = 0.0;  // log(1)
  for (int i = 0; i < 200 && hi - lo > 1e-13; ++i) {
    const double mid = 0.5 * (lo + hi);
    if (rejects(std::exp(mid)) == rejects_below) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return std::exp(rejects_below ? lo : hi);
}

}  // namespace

absl::Span<const MixtureComponent> AboveMixture() { return kAbove; }
absl::Span<const MixtureComponent> BelowMixture() { return kBelow; }

double LogEvidenceAbove(int64_t failures, int64_t trials, double rate) {
  return LogMixture(kAbove, failures, trials, rate);
}

double LogEvidenceBelow(int64_t failures, int64_t trials, double rate) {
  return LogMixture(kBelow, failures, trials, rate);
}

double LogThreshold(double confidence) { return -std::log1p(-confidence); }

absl::Status ValidateAnytime(int64_t failures, int64_t trials, double confidence) {
  if (trials < 0 || failures < 0 || failures > trials) {
    return absl::InvalidArgumentError(absl::StrCat(
        "failures must be between 0 and trials, got ", failures, " of ", trials));
  }
  if (!(confidence > 0.0 && confidence < 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "confidence must be strictly between 0 and 1 (e.g. 0.95), got ",
        confidence));
  }
  return absl::OkStatus();
}

absl::StatusOr<double> AnytimeLowerBound(int64_t failures, int64_t trials,
                                         double confidence) {
  FLAKY_RETURN_IF_ERROR(ValidateAnytime(failures, trials, confidence));
  const double threshold = LogThreshold(confidence);
  auto rejects = [&](double rate) {
    return LogEvidenceAbove(failures, trials, rate) >= threshold;
  };
  // Below every rate the evidence is at its largest; if even that does not
  // reach the threshold, nothing is rejected.
  if (!rejects(1e-300)) return 0.0;
  return BisectRate(rejects, /*rejects_below=*/true);
}

absl::StatusOr<double> AnytimeUpperBound(int64_t failures, int64_t trials,
                                         double confidence) {
  FLAKY_RETURN_IF_ERROR(ValidateAnytime(failures, trials, confidence));
  const double threshold = LogThreshold(confidence);
  auto rejects = [&](double rate) {
    return LogEvidenceBelow(failures, trials, rate) >= threshold;
  };
  if (!rejects(std::nextafter(1.0, 0.0))) return 1.0;
  return BisectRate(rejects, /*rejects_below=*/false);
}

absl::StatusOr<AnytimeInterval> AnytimeRateInterval(int64_t failures,
                                                    int64_t trials,
                                                    double confidence) {
  const double each_side = (1.0 + confidence) / 2.0;
  AnytimeInterval interval;
  FLAKY_ASSIGN_OR_RETURN(interval.low,
                         AnytimeLowerBound(failures, trials, each_side));
  FLAKY_ASSIGN_OR_RETURN(interval.high,
                         AnytimeUpperBound(failures, trials, each_side));
  return interval;
}

absl::StatusOr<int64_t> AnytimeRunsToClean(double max_rate, double confidence,
                                           int64_t failures) {
  FLAKY_RETURN_IF_ERROR(ValidateRate(max_rate, confidence));
  if (failures < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("allowed failures must be >= 0, got ", failures));
  }
  const double threshold = LogThreshold(confidence);
  auto clean = [&](int64_t n) {
    return LogEvidenceBelow(failures, n, max_rate) >= threshold;
  };
  // The evidence grows with n: double until it crosses, then bisect.
  int64_t hi = std::max<int64_t>(failures, 1);
  constexpr int64_t kLimit = int64_t{1} << 62;
  while (!clean(hi)) {
    if (hi > kLimit / 2) {
      return absl::OutOfRangeError(absl::StrCat(
          "more than 2^62 runs would be needed for a rate below ", max_rate));
    }
    hi *= 2;
  }
  int64_t lo = failures;  // clean(lo) may hold only if lo == hi
  if (clean(lo)) return lo;
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (clean(mid)) {
      hi = mid;
    } else {
      lo = mid;
    }
  }
  return hi;
}

absl::Status ValidateBoundaryOptions(const BoundaryOptions& options) {
  FLAKY_RETURN_IF_ERROR(ValidateRate(options.max_rate, options.confidence));
  if (options.flaky_family < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the FLAKY family must hold at least one hypothesis, got ",
        options.flaky_family));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Boundary>> Boundaries(const BoundaryOptions& options,
                                                 int64_t up_to) {
  FLAKY_RETURN_IF_ERROR(ValidateBoundaryOptions(options));
  constexpr int64_t kMaxRows = 10'000'000;
  if (up_to < 1 || up_to > kMaxRows) {
    return absl::InvalidArgumentError(
        absl::StrCat("--up_to must be between 1 and ", kMaxRows, ", got ", up_to));
  }
  const double clean_threshold = LogThreshold(options.confidence);
  const double flaky_threshold =
      clean_threshold + std::log(static_cast<double>(options.flaky_family));
  const double m = options.max_rate;
  std::vector<Boundary> rows;
  rows.reserve(static_cast<size_t>(up_to));
  // Both columns only move up with n (the evidence above falls with each
  // passing run, the evidence below rises), so two cursors suffice.
  int64_t flaky_at = 0;
  int64_t clean_at_most = -1;
  for (int64_t n = 1; n <= up_to; ++n) {
    while (flaky_at <= n && LogEvidenceAbove(flaky_at, n, m) < flaky_threshold) {
      ++flaky_at;
    }
    while (clean_at_most + 1 <= n &&
           LogEvidenceBelow(clean_at_most + 1, n, m) >= clean_threshold) {
      ++clean_at_most;
    }
    rows.push_back(Boundary{.runs = n,
                            .flaky_at_failures = flaky_at <= n ? flaky_at : -1,
                            .clean_at_most_failures = clean_at_most});
  }
  return rows;
}

std::string FormatBoundaries(const std::vector<Boundary>& rows) {
  std::string text = "runs flaky_at_failures clean_at_most_failures\n";
  for (const Boundary& row : rows) {
    absl::StrAppend(&text, row.runs, " ", row.flaky_at_failures, " ",
                    row.clean_at_most_failures, "\n");
  }
  return text;
}

absl::StatusOr<OperatingCharacteristics> ComputeOperatingCharacteristics(
    const BoundaryOptions& options, double rate, int64_t horizon) {
  FLAKY_RETURN_IF_ERROR(ValidateBoundaryOptions(options));
  if (horizon < 1 || horizon > 1'000'000) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the horizon must be between 1 and 1000000 runs, got ", horizon));
  }
  FLAKY_ASSIGN_OR_RETURN(std::vector<Boundary> rows, Boundaries(options, horizon));
  return OperatingCharacteristicsOf(rows, rate);
}

absl::StatusOr<OperatingCharacteristics> OperatingCharacteristicsOf(
    const std::vector<Boundary>& rows, double rate) {
  if (!(rate >= 0.0 && rate <= 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the true rate must be in [0, 1], got ", rate));
  }
  if (rows.empty()) return absl::InvalidArgumentError("no boundaries to evaluate");
  OperatingCharacteristics result;
  result.rate = rate;
  result.horizon = static_cast<int64_t>(rows.size());
  // alive[k]: probability of k failures so far and no verdict yet. Only k
  // between the two boundaries stays alive, so the vector stays short.
  std::vector<double> alive = {1.0};
  double runs_to_flaky = 0.0;
  double runs_to_clean = 0.0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const Boundary& row = rows[i];
    const int64_t n = static_cast<int64_t>(i) + 1;
    if (row.runs != n) {
      return absl::InvalidArgumentError(
          absl::StrCat("boundary row ", i, " is for ", row.runs, " runs, not ", n));
    }
    std::vector<double> next(alive.size() + 1, 0.0);
    for (size_t k = 0; k < alive.size(); ++k) {
      next[k] += alive[k] * (1.0 - rate);
      next[k + 1] += alive[k] * rate;
    }
    for (size_t k = 0; k < next.size(); ++k) {
      const int64_t failures = static_cast<int64_t>(k);
      if (row.flaky_at_failures >= 0 && failures >= row.flaky_at_failures) {
        result.p_flaky += next[k];
        runs_to_flaky += next[k] * static_cast<double>(n);
        next[k] = 0.0;
      } else if (failures <= row.clean_at_most_failures) {
        result.p_clean += next[k];
        runs_to_clean += next[k] * static_cast<double>(n);
        next[k] = 0.0;
      }
    }
    while (!next.empty() && next.back() == 0.0) next.pop_back();
    alive = std::move(next);
    if (alive.empty()) break;
  }
  for (double p : alive) result.p_undecided += p;
  result.mean_runs = runs_to_flaky + runs_to_clean +
                     result.p_undecided * static_cast<double>(result.horizon);
  if (result.p_flaky > 0.0) result.mean_runs_to_flaky = runs_to_flaky / result.p_flaky;
  if (result.p_clean > 0.0) result.mean_runs_to_clean = runs_to_clean / result.p_clean;
  return result;
}

absl::StatusOr<int64_t> FixedLookRunsToDetect(double max_rate, double confidence,
                                              double rate, double power) {
  FLAKY_RETURN_IF_ERROR(ValidateRate(max_rate, confidence));
  if (!(rate > max_rate && rate < 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the rate to detect must be above --max_rate and below 1, got ", rate));
  }
  if (!(power > 0.0 && power < 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("power must be strictly between 0 and 1, got ", power));
  }
  const double alpha = 1.0 - confidence;
  // P(X >= k; n, p) = I_p(k, n - k + 1) for k >= 1.
  auto upper_tail = [](int64_t k, int64_t n, double p) {
    if (k <= 0) return 1.0;
    if (k > n) return 0.0;
    return RegularizedIncompleteBeta(static_cast<double>(k),
                                     static_cast<double>(n - k + 1), p);
  };
  int64_t critical = 1;  // fewest failures the exact test calls FLAKY at n
  for (int64_t n = 1; n <= 10'000'000; ++n) {
    // The critical count never falls as n grows.
    while (critical <= n && upper_tail(critical, n, max_rate) > alpha) ++critical;
    if (critical <= n && upper_tail(critical, n, rate) >= power) return n;
  }
  return absl::OutOfRangeError("a single look would need more than 10^7 runs");
}

}  // namespace flaky::stats
