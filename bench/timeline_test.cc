#include "bench/timeline.h"

#include <vector>

#include "absl/time/time.h"
#include "flaky/base/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::bench {
namespace {

using ::flaky::testing::StatusIs;
using results::Outcome;
using results::Trial;

stats::GateOptions BadGate() {
  stats::GateOptions gate;
  gate.max_rate = 1.5;
  return gate;
}

const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

// A trial of run `run` that finished `finished_s` seconds after kStart.
Trial Finished(int run, double finished_s, Outcome outcome) {
  Trial trial;
  trial.target = "//t:race_test";
  trial.run = run;
  trial.started_at = kStart + absl::Seconds(finished_s) - absl::Milliseconds(300);
  trial.duration = absl::Milliseconds(300);
  trial.outcome = outcome;
  return trial;
}

TEST(ReplayHunt, FindsTheFirstFailureInFinishingOrderNotRunOrder) {
  // Runs 1 and 2 ran in parallel; run 2 failed and finished first.
  std::vector<Trial> trials = {Finished(1, 5.0, Outcome::kPass),
                               Finished(2, 4.5, Outcome::kFail),
                               Finished(3, 5.5, Outcome::kPass)};
  absl::StatusOr<Timeline> timeline =
      ReplayHunt(trials, kStart, kStart + absl::Seconds(7), {});
  ASSERT_TRUE(timeline.ok()) << timeline.status();
  EXPECT_EQ(timeline->trials, 3);
  EXPECT_EQ(timeline->failures, 1);
  EXPECT_EQ(timeline->wall, absl::Seconds(7));
  EXPECT_EQ(timeline->trials_to_first_failure, 1);
  EXPECT_EQ(timeline->time_to_first_failure, absl::Seconds(4.5));
  // One failure in one trial: the exact lower bound at 95% is 5%, above
  // 0.1%, so the gate already says FLAKY.
  EXPECT_EQ(timeline->trials_to_flaky, 1);
  EXPECT_EQ(timeline->time_to_flaky, absl::Seconds(4.5));
  EXPECT_FALSE(timeline->trials_to_clean.has_value());
}

TEST(ReplayHunt, FlakyNeedsTheLowerBoundAboveTheMaxRate) {
  // 1 failure after 60 passes: the lower bound 1 - 0.95^(1/61) = 0.084%
  // is below 0.1%, so one late failure is not enough; the second, at
  // trial 100, gives a lower bound of 0.36%.
  std::vector<Trial> trials;
  for (int run = 1; run <= 100; ++run) {
    const bool fails = run == 61 || run == 100;
    trials.push_back(
        Finished(run, run * 0.5, fails ? Outcome::kFail : Outcome::kPass));
  }
  absl::StatusOr<Timeline> timeline =
      ReplayHunt(trials, kStart, kStart + absl::Seconds(60), {});
  ASSERT_TRUE(timeline.ok()) << timeline.status();
  EXPECT_EQ(timeline->trials_to_first_failure, 61);
  EXPECT_EQ(timeline->trials_to_flaky, 100);
  EXPECT_EQ(timeline->time_to_flaky, absl::Seconds(50));
}

TEST(ReplayHunt, CleanAfterThePlannedNumberOfPasses) {
  // `flaky plan`: 2995 clean runs claim "below 0.1% at 95%"; 2994 do not.
  std::vector<Trial> trials;
  for (int run = 1; run <= 3000; ++run) {
    trials.push_back(Finished(run, run * 0.01, Outcome::kPass));
  }
  Trial skipped = Finished(3001, 0.001, Outcome::kSkipped);
  trials.push_back(skipped);
  absl::StatusOr<Timeline> timeline =
      ReplayHunt(trials, kStart, kStart + absl::Seconds(31), {});
  ASSERT_TRUE(timeline.ok()) << timeline.status();
  EXPECT_EQ(timeline->trials, 3000);  // the skipped one is not a trial
  EXPECT_EQ(timeline->trials_to_clean, 2995);
  EXPECT_EQ(timeline->time_to_clean, absl::Seconds(29.95));
  EXPECT_FALSE(timeline->trials_to_first_failure.has_value());
  EXPECT_FALSE(timeline->trials_to_flaky.has_value());
}

TEST(ReplayHunt, RejectsTrialsBeforeTheHuntAndBadOptions) {
  std::vector<Trial> early = {Finished(1, -2.0, Outcome::kPass)};
  EXPECT_THAT(ReplayHunt(early, kStart, kStart + absl::Seconds(1), {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ReplayHunt({}, kStart, kStart - absl::Seconds(1), {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ReplayHunt({}, kStart, kStart, BadGate()),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(MedianOf, ExactWhenTheMiddleObservationIsExact) {
  std::optional<Median> median = MedianOf(
      {{.value = 9}, {.value = 1}, {.value = 40, .censored = true}, {.value = 3},
       {.value = 5}});
  ASSERT_TRUE(median.has_value());
  EXPECT_EQ(median->value, 5);
  EXPECT_FALSE(median->at_least);
}

TEST(MedianOf, AtLeastTheSmallestCensoredBoundWhenTheMiddleIsCensored) {
  // Three of five hunts ended without the event after 60, 45 and 50 s: at
  // least three of the five true values exceed 45, so the median does too.
  std::optional<Median> median = MedianOf({{.value = 2},
                                           {.value = 60, .censored = true},
                                           {.value = 45, .censored = true},
                                           {.value = 1},
                                           {.value = 50, .censored = true}});
  ASSERT_TRUE(median.has_value());
  EXPECT_EQ(median->value, 45);
  EXPECT_TRUE(median->at_least);
}

TEST(MedianOf, LowerMedianOfAnEvenCountAndNothingForNone) {
  EXPECT_EQ(MedianOf({{.value = 4}, {.value = 2}})->value, 2);
  EXPECT_FALSE(MedianOf({}).has_value());
}

}  // namespace
}  // namespace flaky::bench
