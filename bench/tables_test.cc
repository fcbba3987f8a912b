#include "bench/tables.h"

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "base/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::bench {
namespace {

using ::flaky::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;
using results::Outcome;
using results::Trial;

const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

// A hunt `id` of `profile` that began at kStart and ended `wall_s` later,
// with one trial of //t:a_test per second from second 1 on; the runs in
// `failing` (1-based) fail.
BenchHunt Hunt(const std::string& id, const std::string& profile, int runs,
               double wall_s, const std::vector<int>& failing = {}) {
  BenchHunt hunt;
  hunt.hunt.id = id;
  hunt.hunt.started_at = kStart;
  hunt.hunt.finished_at = kStart + absl::Seconds(wall_s);
  hunt.hunt.profiles = {profile};
  hunt.hunt.mode = "bazel_runs";
  hunt.hunt.status = "done";
  for (int run = 1; run <= runs; ++run) {
    Trial trial;
    trial.hunt_id = id;
    trial.target = "//t:a_test";
    trial.test_case = "A.B";
    trial.profile = profile;
    trial.run = run;
    trial.started_at = kStart + absl::Seconds(run) - absl::Milliseconds(100);
    trial.duration = absl::Milliseconds(100);
    trial.outcome = std::find(failing.begin(), failing.end(), run) != failing.end()
                        ? Outcome::kFail
                        : Outcome::kPass;
    hunt.trials.push_back(trial);
  }
  return hunt;
}

TEST(ParseBenchHuntName, SplitsSectionFamilyAndRep) {
  std::optional<BenchHuntName> name = ParseBenchHuntName("detect.chaos.3");
  ASSERT_TRUE(name.has_value());
  EXPECT_EQ(name->section, "detect");
  EXPECT_EQ(name->family, "chaos");
  EXPECT_EQ(name->rep, "3");
  for (const char* id : {"20261127-101010-42", "detect.chaos", "detect..3",
                         ".chaos.3", "detect.chaos."}) {
    EXPECT_FALSE(ParseBenchHuntName(id).has_value()) << id;
  }
}

std::vector<BenchHunt> DetectionHunts() {
  // `none` never fails in 50-run, 60 s hunts; chaos fails at run 2, 3 or
  // 4, and those hunts stop at 10 s; hogs fails once late (not FLAKY).
  return {Hunt("detect.none.1", "none", 50, 60),
          Hunt("detect.none.2", "none", 50, 60),
          Hunt("detect.none.3", "none", 50, 60),
          Hunt("detect.chaos.1", "chaos:100000", 10, 10, {2, 5}),
          Hunt("detect.chaos.2", "chaos:200000", 10, 10, {4}),
          Hunt("detect.chaos.3", "chaos:300000", 10, 10, {3, 4}),
          Hunt("detect.hogs.1", "hogs:2", 50, 60, {45}),
          Hunt("detect.hogs.2", "hogs:2", 50, 60),
          Hunt("detect.hogs.3", "hogs:2", 50, 60),
          Hunt("verify.bazel_runs.1", "chaos:100000", 5, 5),
          Hunt("20261127-101010-42", "none", 5, 5, {1})};
}

TEST(DetectionTable, PoolsTheHuntsOfAFamilyAndComparesTheBestWithNone) {
  absl::StatusOr<std::string> table =
      DetectionTable(DetectionHunts(), stats::GateOptions{}, "none");
  ASSERT_TRUE(table.ok()) << table.status();
  // none: 0 of 150, no hunt failed, medians censored at the hunt's end;
  // the interval is the anytime one (0/150: up to 2.68%, reference_values.py).
  EXPECT_THAT(*table, HasSubstr("| `none` | a_test | 3 | 0/150 | 0% [0%, 2.7%] "
                                "| 0/3 | > 50 | > 60 | > 60 | 60 |"));
  // chaos: first failures at runs 2, 4, 3 (seconds 2, 4, 3), and one
  // failure early is already FLAKY.
  EXPECT_THAT(*table, HasSubstr("| chaos (`chaos:100000`) | a_test | 3 | 5/30 "));
  EXPECT_THAT(*table, HasSubstr("| 3/3 | 3 | 3.0 | 3.0 | 10 |"));
  // hogs: one failure at run 45 is not FLAKY (one failure is, at 0.1%,
  // only within the first 4 runs), and only one hunt of three failed, so
  // the medians stay censored.
  EXPECT_THAT(*table, HasSubstr("| hogs (`hogs:2`) | a_test | 3 | 1/150 "));
  EXPECT_THAT(*table, HasSubstr("| 1/3 | > 50 | > 60 | > 60 | 60 |"));
  EXPECT_THAT(*table,
              HasSubstr("a_test: chaos reaches FLAKY in a median 3.0 s, `none` in "
                        "more than 60 s (it did not reach FLAKY within its "
                        "budget in most hunts): at least 20.0 times faster."));
  // Hunts of other sections and foreign ids are not detection rows.
  EXPECT_THAT(*table, Not(HasSubstr("/5 |")));
}

TEST(DetectionTable, AnExactBaselineGivesAnExactRatio) {
  // none's second failure, at run 30, makes it FLAKY (evidence 114 > 20).
  std::vector<BenchHunt> hunts = {Hunt("detect.none.1", "none", 50, 60, {20, 30}),
                                  Hunt("detect.chaos.1", "chaos:1", 10, 10, {3})};
  absl::StatusOr<std::string> table = DetectionTable(hunts, {}, "none");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_THAT(*table, HasSubstr("`none` in 30 s: 10.0 times faster."));
}

TEST(DetectionTable, RowsFollowTheFamiliesThenTheTargetNames) {
  BenchHunt hunt = Hunt("detect.hogs.1", "hogs:2", 4, 5);
  for (Trial& trial : hunt.trials) {
    if (trial.run <= 2) trial.target = "//t:b_test";  // b finished first
  }
  std::vector<BenchHunt> hunts = {hunt, Hunt("detect.none.1", "none", 4, 5)};
  absl::StatusOr<std::string> table = DetectionTable(hunts, {}, "none");
  ASSERT_TRUE(table.ok()) << table.status();
  const size_t hogs_a = table->find("| hogs (`hogs:2`) | a_test");
  const size_t hogs_b = table->find("| hogs (`hogs:2`) | b_test");
  const size_t none_a = table->find("| `none` | a_test");
  ASSERT_NE(hogs_a, std::string::npos);
  ASSERT_NE(hogs_b, std::string::npos);
  ASSERT_NE(none_a, std::string::npos);
  EXPECT_LT(hogs_a, hogs_b);
  EXPECT_LT(hogs_b, none_a);
}

TEST(DetectionTable, AnUnfinishedHuntIsAnError) {
  std::vector<BenchHunt> hunts = {Hunt("detect.none.1", "none", 5, 5)};
  hunts[0].hunt.finished_at.reset();
  hunts[0].hunt.status = "interrupted";
  EXPECT_THAT(DetectionTable(hunts, {}, "none"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("detect.none.1")));
}

TEST(BestProfile, IsTheFastestFamilyToFlakyOtherThanTheBaseline) {
  absl::StatusOr<std::string> best =
      BestProfile(DetectionHunts(), stats::GateOptions{}, "none");
  ASSERT_TRUE(best.ok()) << best.status();
  EXPECT_EQ(*best, "chaos:100000");
  std::vector<BenchHunt> slow = {Hunt("detect.none.1", "none", 5, 5),
                                 Hunt("detect.hogs.1", "hogs:2", 5, 5)};
  EXPECT_THAT(BestProfile(slow, {}, "none"),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST(VerificationTable, ShowsWhenTheFixedTestsReachedClean) {
  std::vector<BenchHunt> hunts = {
      Hunt("verify.bazel_runs.1", "chaos:1", 3400, 3410),
      Hunt("verify.short.1", "chaos:1", 100, 101)};
  absl::StatusOr<std::string> table = VerificationTable(hunts, {});
  ASSERT_TRUE(table.ok()) << table.status();
  // The anytime upper bounds of 0/3400 and 0/100 (reference_values.py:
  // 0.09798% and 3.28%), rounded up; CLEAN from run 3332 on.
  EXPECT_THAT(*table, HasSubstr("| bazel_runs (bazel_runs) | `chaos:1` | a_test | "
                                "3400 | 0 | 0.098% | CLEAN | 3332 | 3332 | 3410 |"));
  EXPECT_THAT(*table, HasSubstr("| short (bazel_runs) | `chaos:1` | a_test | 100 | "
                                "0 | 3.3% | INCONCLUSIVE | - | - | 101 |"));
}

TEST(ThroughputTable, CountsRunsAndTrialsPerSecond) {
  BenchHunt hunt = Hunt("throughput.bazel_runs.1", "none", 100, 120);
  absl::StatusOr<std::string> table = ThroughputTable({hunt});
  ASSERT_TRUE(table.ok()) << table.status();
  // 100 trials in 120 s overall; from 0.9 s to 100 s while tests ran.
  EXPECT_THAT(*table, HasSubstr("| `flaky hunt` bazel_runs (bazel_runs) | 100 | "
                                "100 | 120 | 0.8 | 1.0 |"));
}

TEST(LoadBenchHunts, ReadsBenchHuntsWithTheirTrials) {
  const std::string path = absl::StrCat(std::getenv("TEST_TMPDIR"), "/load.db");
  {
    absl::StatusOr<std::unique_ptr<results::Store>> store = results::Store::Open(path);
    ASSERT_THAT(store.status(), ::flaky::testing::IsOk());
    for (const std::string id : {"detect.none.1", "matrix.auto.1", "not-a-bench-hunt"}) {
      results::HuntRecord hunt;
      hunt.id = id;
      hunt.started_at = absl::FromUnixSeconds(100);
      ASSERT_THAT((*store)->BeginHunt(hunt), ::flaky::testing::IsOk());
      results::Trial trial;
      trial.hunt_id = id;
      trial.target = "//t:a";
      trial.started_at = absl::FromUnixSeconds(101);
      ASSERT_THAT((*store)->InsertTrials({trial}), ::flaky::testing::IsOk());
      ASSERT_THAT((*store)->FinishHunt(id, "done", absl::FromUnixSeconds(110)),
                  ::flaky::testing::IsOk());
    }
  }
  absl::StatusOr<std::vector<BenchHunt>> all = LoadBenchHunts(path);
  ASSERT_THAT(all.status(), ::flaky::testing::IsOk());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].hunt.id, "detect.none.1");
  EXPECT_EQ((*all)[0].trials.size(), 1u);
  EXPECT_EQ((*all)[1].hunt.id, "matrix.auto.1");
  absl::StatusOr<std::vector<BenchHunt>> one = LoadBenchHunts(path, {"matrix.auto.1"});
  ASSERT_THAT(one.status(), ::flaky::testing::IsOk());
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].trials[0].target, "//t:a");
  EXPECT_THAT(LoadBenchHunts(absl::StrCat(std::getenv("TEST_TMPDIR"), "/none/x.db")).status(),
              StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace flaky::bench
