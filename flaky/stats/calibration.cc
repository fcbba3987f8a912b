#include "flaky/stats/calibration.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/status_macros.h"
#include "flaky/stats/binomial.h"
#include "flaky/stats/special_functions.h"

namespace flaky::stats {
namespace {

// P(X >= k; n, p) and P(X <= k; n, p) through the incomplete beta.
double UpperTail(int64_t k, int64_t n, double p) {
  if (k <= 0) return 1.0;
  if (k > n) return 0.0;
  return RegularizedIncompleteBeta(static_cast<double>(k),
                                   static_cast<double>(n - k + 1), p);
}

double LowerTail(int64_t k, int64_t n, double p) {
  if (k < 0) return 0.0;
  if (k >= n) return 1.0;
  return 1.0 - RegularizedIncompleteBeta(static_cast<double>(k + 1),
                                         static_cast<double>(n - k), p);
}

// 53 random bits as a uniform double in (0, 1].
double Uniform(std::mt19937_64& rng) {
  return (static_cast<double>(rng() >> 11) + 1.0) * 0x1.0p-53;
}

}  // namespace

absl::StatusOr<std::vector<Boundary>> SingleLookBoundaries(
    const BoundaryOptions& options, int64_t up_to) {
  FLAKY_RETURN_IF_ERROR(ValidateBoundaryOptions(options));
  if (up_to < 1 || up_to > 10'000'000) {
    return absl::InvalidArgumentError(
        absl::StrCat("--up_to must be between 1 and 10000000, got ", up_to));
  }
  const double alpha = (1.0 - options.confidence) /
                       static_cast<double>(options.flaky_family);
  const double clean_alpha = 1.0 - options.confidence;
  const double m = options.max_rate;
  std::vector<Boundary> rows;
  rows.reserve(static_cast<size_t>(up_to));
  int64_t flaky_at = 1;
  int64_t clean_at_most = -1;
  for (int64_t n = 1; n <= up_to; ++n) {
    while (flaky_at <= n && !(UpperTail(flaky_at, n, m) < alpha)) ++flaky_at;
    while (clean_at_most + 1 < n && LowerTail(clean_at_most + 1, n, m) < clean_alpha) {
      ++clean_at_most;
    }
    rows.push_back(Boundary{.runs = n,
                            .flaky_at_failures = flaky_at <= n ? flaky_at : -1,
                            .clean_at_most_failures = clean_at_most});
  }
  return rows;
}

absl::StatusOr<CalibrationRow> SimulateHunts(const std::vector<Boundary>& rows,
                                             double rate, int64_t hunts,
                                             uint64_t seed) {
  if (!(rate >= 0.0 && rate <= 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the true rate must be in [0, 1], got ", rate));
  }
  if (rows.empty()) return absl::InvalidArgumentError("no boundaries to simulate");
  if (hunts < 1) {
    return absl::InvalidArgumentError(absl::StrCat("hunts must be >= 1, got ", hunts));
  }
  const int64_t horizon = static_cast<int64_t>(rows.size());
  // first_clean[k]: the first run count at which k failures are CLEAN.
  std::vector<int64_t> first_clean;
  for (const Boundary& row : rows) {
    while (static_cast<int64_t>(first_clean.size()) <= row.clean_at_most_failures) {
      first_clean.push_back(row.runs);
    }
  }
  std::mt19937_64 rng(seed);
  const double log_pass = std::log1p(-rate);
  int64_t flaky = 0;
  int64_t clean = 0;
  double runs = 0.0;
  for (int64_t h = 0; h < hunts; ++h) {
    int64_t failures = 0;
    int64_t n = 0;  // runs so far
    int64_t stop = horizon;
    bool decided = false;
    while (!decided) {
      // The run of the next failure: a geometric gap (never with rate 0).
      int64_t next_failure = std::numeric_limits<int64_t>::max();
      if (rate >= 1.0) {
        next_failure = n + 1;
      } else if (rate > 0.0) {
        const double gap = std::ceil(std::log(Uniform(rng)) / log_pass);
        if (gap < static_cast<double>(horizon)) {
          next_failure = n + std::max<int64_t>(1, static_cast<int64_t>(gap));
        }
      }
      // CLEAN before then? (From run n itself: the failure that made the
      // count may be the run at which that count is CLEAN.)
      if (failures < static_cast<int64_t>(first_clean.size())) {
        const int64_t at = std::max(first_clean[failures], std::max<int64_t>(n, 1));
        if (at < next_failure && at <= horizon) {
          ++clean;
          stop = at;
          decided = true;
          break;
        }
      }
      if (next_failure > horizon) break;
      n = next_failure;
      ++failures;
      const Boundary& row = rows[static_cast<size_t>(n - 1)];
      if (row.flaky_at_failures >= 0 && failures >= row.flaky_at_failures) {
        ++flaky;
        stop = n;
        decided = true;
      }
    }
    runs += static_cast<double>(stop);
  }
  CalibrationRow result;
  result.rate = rate;
  result.hunts = hunts;
  result.sampled_flaky = static_cast<double>(flaky) / static_cast<double>(hunts);
  result.sampled_clean = static_cast<double>(clean) / static_cast<double>(hunts);
  result.sampled_mean_runs = runs / static_cast<double>(hunts);
  return result;
}

absl::StatusOr<CalibrationRow> Calibrate(const CalibrationOptions& options,
                                         double rate) {
  FLAKY_ASSIGN_OR_RETURN(std::vector<Boundary> rows,
                         Boundaries(options.rule, options.horizon));
  FLAKY_ASSIGN_OR_RETURN(CalibrationRow result,
                         SimulateHunts(rows, rate, options.hunts, options.seed));
  FLAKY_ASSIGN_OR_RETURN(result.exact, OperatingCharacteristicsOf(rows, rate));
  FLAKY_ASSIGN_OR_RETURN(std::vector<Boundary> single,
                         SingleLookBoundaries(options.rule, options.horizon));
  FLAKY_ASSIGN_OR_RETURN(result.single_look, OperatingCharacteristicsOf(single, rate));
  return result;
}

std::string CalibrationTable(const std::vector<CalibrationRow>& rows,
                             const CalibrationOptions& options) {
  const double m = options.rule.max_rate;
  auto percent = [](double share) { return absl::StrFormat("%.2f%%", 100.0 * share); };
  std::string table = absl::StrCat(
      "| true rate | hunts | FLAKY, sampled | FLAKY, exact | CLEAN, sampled | CLEAN, exact "
      "| mean runs to a verdict (or ", options.horizon,
      ") | single look watched: FLAKY | single look watched: CLEAN |\n"
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const CalibrationRow& row : rows) {
    const double ratio = row.rate / m;
    const std::string name =
        row.rate == 0.0 ? "0"
                        : absl::StrCat(absl::StrFormat("%g", ratio), "M (",
                                       FormatPercent(row.rate), ")");
    // Which verdict is the error at this rate: FLAKY when p <= M, CLEAN
    // when p >= M (both at p = M).
    auto mark = [&](double share, bool error) {
      return error ? absl::StrCat("**", percent(share), "**") : percent(share);
    };
    const bool flaky_is_error = row.rate <= m;
    const bool clean_is_error = row.rate >= m;
    absl::StrAppend(&table, "| ", name, " | ", row.hunts, " | ",
                    mark(row.sampled_flaky, flaky_is_error), " | ",
                    mark(row.exact.p_flaky, flaky_is_error), " | ",
                    mark(row.sampled_clean, clean_is_error), " | ",
                    mark(row.exact.p_clean, clean_is_error), " | ",
                    absl::StrFormat("%.0f", row.sampled_mean_runs), " | ",
                    mark(row.single_look.p_flaky, flaky_is_error), " | ",
                    mark(row.single_look.p_clean, clean_is_error), " |\n");
  }
  absl::StrAppend(&table, "\nBold: the share that is an error at that rate (FLAKY when the rate is at most M = ",
                  FormatPercent(m), ", CLEAN when at least M); nominal at most ",
                  percent(1.0 - options.rule.confidence), " each.\n");
  return table;
}

}  // namespace flaky::stats
