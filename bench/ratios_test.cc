#include "bench/ratios.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::bench {
namespace {

std::vector<RateRow> Rows() {
  return {{.name = "plain", .how = "plain bazel", .runs = 200, .seconds = 10},
          {.name = "flaky", .how = "flaky hunt", .runs = 200, .seconds = 8,
           .reference = "plain"},
          {.name = "loop", .how = "tight loop", .runs = 1000, .seconds = 2},
          {.name = "direct", .how = "direct", .runs = 400, .seconds = 2,
           .reference = "loop"},
          {.name = "broken", .how = "no time", .runs = 5, .seconds = 0,
           .reference = "plain"}};
}

TEST(RateRatio, IsRunsPerSecondOverTheReferences) {
  EXPECT_DOUBLE_EQ(*RateRatio(Rows(), "flaky"), 25.0 / 20.0);
  EXPECT_DOUBLE_EQ(*RateRatio(Rows(), "direct"), 200.0 / 500.0);
  EXPECT_FALSE(RateRatio(Rows(), "plain").has_value());
  EXPECT_FALSE(RateRatio(Rows(), "broken").has_value());
  EXPECT_FALSE(RateRatio(Rows(), "missing").has_value());
}

TEST(RenderRateTable, OneRowPerMeasurement) {
  EXPECT_EQ(RenderRateTable(Rows()),
            "| how | runs | wall s | runs/s | ratio to reference |\n"
            "|---|---:|---:|---:|---|\n"
            "| plain bazel (`plain`) | 200 | 10.00 | 20.0 | reference |\n"
            "| flaky hunt (`flaky`) | 200 | 8.00 | 25.0 | 1.25x `plain` |\n"
            "| tight loop (`loop`) | 1000 | 2.00 | 500.0 | reference |\n"
            "| direct (`direct`) | 400 | 2.00 | 200.0 | 0.40x `loop` |\n"
            "| no time (`broken`) | 5 | 0.00 | - | - |\n");
}

TEST(GoalMet, ComparesMeasuredWithTarget) {
  EXPECT_EQ(GoalMet({.target = 1.0, .measured = 1.25}), "yes");
  EXPECT_EQ(GoalMet({.target = 0.5, .measured = 0.4}), "no");
  EXPECT_EQ(GoalMet({.target = 100}), "n/a");
  EXPECT_EQ(GoalMet({.target = 100, .measured = 20, .measured_at_least = true}),
            "unknown");
  EXPECT_EQ(GoalMet({.target = 100, .measured = 200, .measured_at_least = true}),
            "yes");
}

TEST(RenderGoalTable, TargetMeasuredMet) {
  EXPECT_EQ(RenderGoalTable({{.what = "flaky vs plain", .target = 1.0,
                              .measured = 1.25},
                             {.what = "none/best", .target = 100,
                              .measured = 20, .measured_at_least = true},
                             {.what = "direct vs loop", .target = 0.5}}),
            "| goal | target | measured | met? |\n|---|---:|---:|---|\n"
            "| flaky vs plain | >= 1.00x | 1.25x | yes |\n"
            "| none/best | >= 100.00x | >= 20.00x | unknown |\n"
            "| direct vs loop | >= 0.50x | - | n/a |\n");
}

}  // namespace
}  // namespace flaky::bench
