#include "flaky/runner/progress.h"

#include <sstream>
#include <string>

#include "absl/time/time.h"
#include "flaky/results/trial.h"
#include "flaky/runner/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::runner {
namespace {

TEST(FormatClock, MinutesThenHours) {
  EXPECT_EQ(FormatClock(absl::Seconds(5)), "0:05");
  EXPECT_EQ(FormatClock(absl::Seconds(65)), "1:05");
  EXPECT_EQ(FormatClock(absl::Seconds(3723)), "1:02:03");
  EXPECT_EQ(FormatClock(absl::Seconds(-4)), "0:00");
}

TEST(FormatProgress, PlannedRunsGiveAnEta) {
  EXPECT_EQ(FormatProgress({.profile = "hogs:2",
                            .runs_done = 120,
                            .runs_planned = 500,
                            .failed_runs = 3,
                            .elapsed = absl::Seconds(5)}),
            "hogs:2  120/500 runs  3 failed (2.5%)  24.0 runs/s  0:05 "
            "elapsed  ETA 0:16");
}

TEST(FormatProgress, BudgetGivesTheTimeLeft) {
  EXPECT_EQ(FormatProgress({.profile = "none",
                            .runs_done = 10,
                            .failed_runs = 0,
                            .elapsed = absl::Seconds(20),
                            .budget = absl::Seconds(60)}),
            "none  10 runs  0 failed (0.0%)  0.5 runs/s  0:20 elapsed  ETA "
            "0:40");
}

TEST(FormatProgress, NothingDoneYetHasNoRateOrEta) {
  EXPECT_EQ(FormatProgress({.profile = "none", .runs_planned = 10}),
            "none  0/10 runs  0 failed  0:00 elapsed");
}

TEST(ProgressPrinter, TerminalRewritesOneLineAtMostEvery200Ms) {
  std::ostringstream out;
  ManualClock clock(absl::FromUnixSeconds(0));
  ProgressPrinter progress(out, /*tty=*/true, clock);
  progress.Update({.profile = "a", .runs_done = 1});
  progress.Update({.profile = "a", .runs_done = 2});  // too soon: dropped
  clock.Advance(absl::Milliseconds(200));
  progress.Update({.profile = "a", .runs_done = 3});
  const std::string first = "a  1 runs  0 failed (0.0%)  0:00 elapsed";
  const std::string third = "a  3 runs  0 failed (0.0%)  0:00 elapsed";
  EXPECT_EQ(out.str(), first + "\r" + std::string(first.size(), ' ') + "\r" +
                           third);
  progress.Message("built");
  EXPECT_THAT(out.str(), ::testing::EndsWith(
                             "\r" + std::string(third.size(), ' ') +
                             "\rbuilt\n"));
}

TEST(ProgressPrinter, LogGetsSparseFullLines) {
  std::ostringstream out;
  ManualClock clock(absl::FromUnixSeconds(0));
  ProgressPrinter progress(out, /*tty=*/false, clock, absl::Seconds(30));
  for (int run = 1; run <= 100; ++run) {
    progress.Update({.profile = "none", .runs_done = run});
    clock.Advance(absl::Seconds(1));
  }
  progress.Finish({.profile = "none", .runs_done = 100,
                   .elapsed = absl::Seconds(100)});
  // Updates at t = 0, 30, 60, 90 and the final line: five lines, no '\r'.
  const std::string text = out.str();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 5);
  EXPECT_EQ(text.find('\r'), std::string::npos);
  EXPECT_THAT(text, ::testing::HasSubstr("flaky: none  31 runs"));
  EXPECT_THAT(text, ::testing::EndsWith(
                        "flaky: none  100 runs  0 failed (0.0%)  1.0 runs/s  "
                        "1:40 elapsed\n"));
}

TEST(RunProgress, CountsTheRunsTheStreamHandsOverAndFailedOnes) {
  ManualClock clock(absl::FromUnixSeconds(1000));
  std::ostringstream out;
  RunProgress progress(out, /*tty=*/false, clock, absl::Seconds(30));
  clock.Advance(absl::Minutes(3));  // the build: not run time
  progress.Begin(/*runs_planned=*/4, std::nullopt);
  progress.SetProfile("hogs:2");
  results::Trial pass;
  results::Trial fail;
  fail.outcome = results::Outcome::kFail;
  clock.Advance(absl::Seconds(2));
  ASSERT_TRUE(progress.Accept({pass, pass}).ok());
  // One failing case fails the run.
  ASSERT_TRUE(progress.Accept({pass, fail}).ok());
  progress.Finish();
  EXPECT_EQ(out.str(),
            "flaky: hogs:2  1/4 runs  0 failed (0.0%)  0.5 runs/s  0:02 elapsed  ETA 0:06\n"
            "flaky: hogs:2  2/4 runs  1 failed (50.0%)  1.0 runs/s  0:02 elapsed  ETA 0:02\n");
}

}  // namespace
}  // namespace flaky::runner
