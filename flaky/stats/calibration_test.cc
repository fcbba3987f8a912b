#include "flaky/stats/calibration.h"

#include <cstdint>
#include <iostream>
#include <random>
#include <vector>

#include "absl/status/status.h"
#include "base/status_matchers.h"
#include "flaky/stats/anytime.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::stats {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::StatusIs;
using ::testing::HasSubstr;

constexpr double kMax = 0.001;
constexpr double kConfidence = 0.95;
constexpr int64_t kHorizon = 20000;
const double kRates[] = {0.0, kMax / 2, kMax, 2 * kMax, 10 * kMax};

// One hunt judged run by run: the definition the jumping simulation must
// agree with.
enum class Stop { kFlaky, kClean, kNone };
struct Sampled {
  Stop stop = Stop::kNone;
  int64_t runs = 0;
};

Sampled HuntRunByRun(const std::vector<Boundary>& rows, double rate,
                     std::mt19937_64& rng) {
  int64_t failures = 0;
  for (const Boundary& row : rows) {
    const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
    if (u < rate) ++failures;
    if (row.flaky_at_failures >= 0 && failures >= row.flaky_at_failures) {
      return {Stop::kFlaky, row.runs};
    }
    if (failures <= row.clean_at_most_failures) return {Stop::kClean, row.runs};
  }
  return {Stop::kNone, static_cast<int64_t>(rows.size())};
}

// Two estimates of a proportion from 10,000 hunts each (or one against
// its exact value) differ by more than 6.5 standard errors (sd <= 0.005
// each, so 6.5 * 0.0071 for a difference) with probability < 1e-10: the
// tolerances below cannot fail by chance, whatever the seed.
constexpr int kHunts = 10000;
constexpr double kOneSide = 6.5 * 0.005;
constexpr double kTwoSides = 6.5 * 0.0071;

TEST(Calibration, RunByRunAndJumpingSimulationsAgreeWithTheExactErrors) {
  const BoundaryOptions options{.max_rate = kMax, .confidence = kConfidence};
  const std::vector<Boundary> rows = *Boundaries(options, kHorizon);
  std::mt19937_64 rng(20261202);  // fixed seed: the test cannot flake
  for (double rate : kRates) {
    int flaky = 0;
    int clean = 0;
    for (int h = 0; h < kHunts; ++h) {
      const Sampled s = HuntRunByRun(rows, rate, rng);
      flaky += s.stop == Stop::kFlaky;
      clean += s.stop == Stop::kClean;
    }
    const double by_run_flaky = static_cast<double>(flaky) / kHunts;
    const double by_run_clean = static_cast<double>(clean) / kHunts;
    absl::StatusOr<CalibrationRow> jumping = SimulateHunts(rows, rate, kHunts, 7);
    ASSERT_THAT(jumping, IsOk());
    const OperatingCharacteristics exact = *OperatingCharacteristicsOf(rows, rate);
    std::cout << "rate " << rate << ": run by run FLAKY " << by_run_flaky << " CLEAN "
              << by_run_clean << "; jumping " << jumping->sampled_flaky << ", "
              << jumping->sampled_clean << " mean runs " << jumping->sampled_mean_runs
              << "; exact " << exact.p_flaky << ", " << exact.p_clean << ", "
              << exact.mean_runs << "\n";
    EXPECT_NEAR(by_run_flaky, exact.p_flaky, kOneSide) << rate;
    EXPECT_NEAR(by_run_clean, exact.p_clean, kOneSide) << rate;
    EXPECT_NEAR(jumping->sampled_flaky, exact.p_flaky, kOneSide) << rate;
    EXPECT_NEAR(jumping->sampled_clean, exact.p_clean, kOneSide) << rate;
    EXPECT_NEAR(jumping->sampled_flaky, by_run_flaky, kTwoSides) << rate;
    EXPECT_NEAR(jumping->sampled_clean, by_run_clean, kTwoSides) << rate;
  }
}

TEST(Calibration, TheRuleKeepsBothErrorsWithinFivePercentWhenWatched) {
  CalibrationOptions options;
  options.rule = {.max_rate = kMax, .confidence = kConfidence};
  options.horizon = kHorizon;
  options.hunts = kHunts;
  std::vector<CalibrationRow> rows;
  for (double rate : kRates) {
    absl::StatusOr<CalibrationRow> row = Calibrate(options, rate);
    ASSERT_THAT(row, IsOk());
    // Exact, so no tolerance: the target, 5% each.
    if (rate <= kMax) {
      EXPECT_LE(row->exact.p_flaky, 0.05) << rate;
    }
    if (rate >= kMax) {
      EXPECT_LE(row->exact.p_clean, 0.05) << rate;
    }
    rows.push_back(*row);
  }
  // The single exact look, checked after every run, errs far more often
  // at p = M: exactly 25.80% and 16.43% here, what the audit measured by
  // simulation (25.8% and 16.4%).
  EXPECT_NEAR(rows[2].single_look.p_flaky, 0.258, 0.001);
  EXPECT_NEAR(rows[2].single_look.p_clean, 0.164, 0.001);
  // p = 0 is CLEAN at exactly 3332 runs in every hunt.
  EXPECT_EQ(rows[0].sampled_clean, 1.0);
  EXPECT_EQ(rows[0].sampled_mean_runs, 3332.0);
  const std::string table = CalibrationTable(rows, options);
  std::cout << table;
  EXPECT_THAT(table,
              HasSubstr("| 0 | 10000 | **0.00%** | **0.00%** | 100.00% | 100.00% | 3332 |"));
  EXPECT_THAT(table, HasSubstr("| 1M (0.1%) | 10000 | **"));
}

TEST(SingleLookBoundaries, AreTheExactBoundsOfOneLook) {
  const std::vector<Boundary> rows =
      *SingleLookBoundaries({.max_rate = kMax, .confidence = kConfidence}, 5000);
  // One failure is FLAKY up to 51 runs (1 - 0.95^(1/51) > 0.1%), CLEAN
  // without failures from 2995 runs (plan.h).
  EXPECT_EQ(rows[50].flaky_at_failures, 1);
  EXPECT_EQ(rows[51].flaky_at_failures, 2);
  EXPECT_EQ(rows[2993].clean_at_most_failures, -1);
  EXPECT_EQ(rows[2994].clean_at_most_failures, 0);
  EXPECT_THAT(SingleLookBoundaries({.max_rate = kMax, .confidence = kConfidence}, 0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--up_to")));
}

TEST(SimulateHunts, RejectsBadInput) {
  const std::vector<Boundary> rows =
      *Boundaries({.max_rate = kMax, .confidence = kConfidence}, 10);
  EXPECT_THAT(SimulateHunts(rows, 1.5, 10, 1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("[0, 1]")));
  EXPECT_THAT(SimulateHunts({}, 0.5, 10, 1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no boundaries")));
  EXPECT_THAT(SimulateHunts(rows, 0.5, 0, 1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("hunts")));
  // Every run fails: FLAKY at the first run, in every hunt.
  const CalibrationRow always = *SimulateHunts(rows, 1.0, 100, 1);
  EXPECT_EQ(always.sampled_flaky, 1.0);
  EXPECT_EQ(always.sampled_mean_runs, 1.0);
}

}  // namespace
}  // namespace flaky::stats
