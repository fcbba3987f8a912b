#include "bench/matrix.h"

#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "base/status_matchers.h"
#include "flaky/stats/verdict.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::bench {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::StatusIs;
using ::testing::HasSubstr;

constexpr char kTarget[] = "//tests/race:already_running_original";
const absl::Time kStart = absl::FromUnixSeconds(1000);

// A hunt whose run i (1-based) of `profile` starts at kStart + i s, lasts
// 0.5 s and fails when `fails(i)`.
BenchHunt Hunt(const std::string& id, const std::string& profile, int runs,
               bool (*fails)(int), int seconds = 100) {
  BenchHunt hunt;
  hunt.hunt.id = id;
  hunt.hunt.started_at = kStart;
  hunt.hunt.finished_at = kStart + absl::Seconds(seconds);
  hunt.hunt.profiles = {profile};
  for (int i = 1; i <= runs; ++i) {
    results::Trial trial;
    trial.hunt_id = id;
    trial.target = kTarget;
    trial.test_case = "AlreadyRunning.Original";
    trial.profile = profile;
    trial.run = i;
    trial.started_at = kStart + absl::Seconds(i);
    trial.duration = absl::Milliseconds(500);
    trial.outcome = fails(i) ? results::Outcome::kFail : results::Outcome::kPass;
    hunt.trials.push_back(trial);
  }
  return hunt;
}

// The fewest all-failing runs the gate calls FLAKY.
int64_t RunsToFlakyWhenAllFail(const stats::GateOptions& gate) {
  for (int64_t n = 1;; ++n) {
    if (stats::Judge(n, n, gate)->verdict == stats::Verdict::kFlaky) return n;
  }
}

TEST(SummarizeHunt, CountsRunsFailuresAndTimeToFlaky) {
  const stats::GateOptions gate;
  const BenchHunt hunt =
      Hunt("matrix.chaos.race", "chaos:1", 20, [](int) { return true; });
  absl::StatusOr<Cell> cell = SummarizeHunt(hunt, kTarget, gate);
  ASSERT_THAT(cell.status(), IsOk());
  EXPECT_EQ(cell->column, "chaos");
  EXPECT_EQ(cell->profiles, "chaos:1");
  EXPECT_EQ(cell->runs, 20);
  EXPECT_EQ(cell->failed_runs, 20);
  EXPECT_DOUBLE_EQ(cell->seconds_per_run, 0.5);
  EXPECT_EQ(cell->most_failing_profile, "chaos:1");
  const int64_t n = RunsToFlakyWhenAllFail(gate);
  ASSERT_LE(n, 20);
  EXPECT_EQ(cell->trials_to_flaky, n);
  EXPECT_DOUBLE_EQ(*cell->seconds_to_flaky, n + 0.5);
  EXPECT_EQ(FlakyCell(*cell),
            absl::StrFormat("%.1f s (%d run%s, `chaos:1`)", n + 0.5, n,
                            n == 1 ? "" : "s"));
}

TEST(SummarizeHunt, ABaselineThatNeverFailsGivesABound) {
  const stats::GateOptions gate;
  const BenchHunt none =
      Hunt("matrix.none.race", "none", 30, [](int) { return false; }, 40);
  const BenchHunt best =
      Hunt("matrix.chaos.race", "chaos:1", 20, [](int) { return true; });
  absl::StatusOr<Cell> none_cell = SummarizeHunt(none, kTarget, gate);
  absl::StatusOr<Cell> best_cell = SummarizeHunt(best, kTarget, gate);
  ASSERT_THAT(none_cell.status(), IsOk());
  ASSERT_THAT(best_cell.status(), IsOk());
  EXPECT_FALSE(none_cell->seconds_to_flaky.has_value());
  EXPECT_EQ(none_cell->most_failing_profile, "");
  EXPECT_EQ(FlakyCell(*none_cell), "not FLAKY within 30 runs / 40.0 s");
  const Goal goal = FlakyRatioGoal("none/best", *none_cell, *best_cell, 100);
  ASSERT_TRUE(goal.measured.has_value());
  EXPECT_TRUE(goal.measured_at_least);
  EXPECT_DOUBLE_EQ(*goal.measured, 40.0 / *best_cell->seconds_to_flaky);
  // No FLAKY for `best`: nothing to compare.
  EXPECT_FALSE(FlakyRatioGoal("x", *best_cell, *none_cell, 100).measured);
}

TEST(SummarizeHunt, RoundsRestartingRunNumbersAreDistinctRuns) {
  BenchHunt hunt = Hunt("matrix.none.race", "none", 3, [](int i) { return i == 2; });
  BenchHunt round2 = Hunt("matrix.none.race", "none", 3, [](int) { return false; });
  for (results::Trial& trial : round2.trials) trial.started_at += absl::Seconds(10);
  hunt.trials.insert(hunt.trials.end(), round2.trials.begin(), round2.trials.end());
  absl::StatusOr<Cell> cell = SummarizeHunt(hunt, kTarget, {});
  ASSERT_THAT(cell.status(), IsOk());
  EXPECT_EQ(cell->runs, 6);
  EXPECT_EQ(cell->failed_runs, 1);
}

TEST(SummarizeHunt, Errors) {
  BenchHunt hunt = Hunt("matrix.none.race", "none", 3, [](int) { return false; });
  EXPECT_THAT(SummarizeHunt(hunt, "//other:t", {}).status(),
              StatusIs(absl::StatusCode::kNotFound,
                       "hunt matrix.none.race has no trials of //other:t"));
  hunt.hunt.finished_at.reset();
  EXPECT_THAT(SummarizeHunt(hunt, kTarget, {}).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("has no end time")));
}

TEST(RenderMatrix, ComparesSecondsPerRunWithNone) {
  Cell none{.target = kTarget, .column = "none", .profiles = "none", .runs = 10,
            .failed_runs = 0, .seconds_per_run = 0.5, .hunt_seconds = 9};
  Cell chaos{.target = kTarget, .column = "chaos", .profiles = "chaos:1",
             .runs = 10, .failed_runs = 5, .seconds_per_run = 1.0,
             .hunt_seconds = 9, .flaky_profile = "chaos:1",
             .seconds_to_flaky = 3.5, .trials_to_flaky = 3};
  Cell fixed{.target = "//tests/race:already_running_fixed", .column = "fixed",
             .profiles = "chaos:1", .runs = 300, .seconds_per_run = 2.0};
  const std::string table = RenderMatrix({none, chaos, fixed}, 0.95);
  EXPECT_THAT(table, HasSubstr("| already_running_original | none (`none`) | "
                               "0/10 | 0% [0%, "));
  EXPECT_THAT(table, HasSubstr("| 0.500 | 1.00 | not FLAKY within 10 runs / 9.0 s |"));
  EXPECT_THAT(table, HasSubstr("| 1.000 | 2.00 | 3.5 s (3 runs, `chaos:1`) |"));
  EXPECT_THAT(table, HasSubstr("| already_running_fixed | fixed (`chaos:1`) | "
                               "0/300 |"));
  EXPECT_THAT(table, HasSubstr("| 2.000 | 4.00 |"));
}

TEST(RenderFixed, SaysWhetherEnoughCleanRunsRan) {
  Cell enough{.target = "//t:a_fixed", .profiles = "hogs:2", .runs = 300,
              .seconds_per_run = 1};
  Cell few{.target = "//t:b_fixed", .profiles = "hogs:2", .runs = 6};
  Cell failed{.target = "//t:c_fixed", .profiles = "hogs:2", .runs = 300,
              .failed_runs = 1};
  EXPECT_EQ(RenderFixed({enough, few, failed}, 300),
            "| fixed target | profile | failures/runs | s/run | 0 failures in "
            ">= 300 runs? |\n|---|---|---:|---:|---|\n"
            "| a_fixed | `hogs:2` | 0/300 | 1.000 | yes |\n"
            "| b_fixed | `hogs:2` | 0/6 | 0.000 | not yet (6 runs) |\n"
            "| c_fixed | `hogs:2` | 1/300 | 0.000 | no |\n");
}

}  // namespace
}  // namespace flaky::bench
