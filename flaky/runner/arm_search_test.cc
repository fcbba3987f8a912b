#include "flaky/runner/arm_search.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "base/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::runner {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(AutoArms, AreOneOfEachKindWithTheSeed) {
  EXPECT_THAT(AutoArms(7), ElementsAre("chaos:7", "sched:7", "hogs:2", "cgroup:20",
                                       "taskset:0+chaos:7"));
}

TEST(ArmSearch, HalvesByFailureRateUntilOneArmIsLeft) {
  ArmSearch search({"a", "b", "c", "d", "e"});
  // Pass 1: c fails most, then a, e; b and d never.
  for (const auto& [arm, failed] :
       std::vector<std::pair<std::string, int>>{{"a", 2}, {"b", 0}, {"c", 5}, {"d", 0},
                                                {"e", 1}}) {
    ASSERT_THAT(search.Record(arm, 10, failed, absl::Seconds(10)), IsOk());
  }
  search.EndPass();
  EXPECT_THAT(search.Active(), ElementsAre("a", "c", "e"));  // ceil(5 / 2)
  EXPECT_FALSE(search.Winner().has_value());
  // Pass 2: the counts pool; a catches up with c but stays behind.
  ASSERT_THAT(search.Record("a", 10, 4, absl::Seconds(10)), IsOk());
  ASSERT_THAT(search.Record("c", 10, 2, absl::Seconds(10)), IsOk());
  ASSERT_THAT(search.Record("e", 10, 0, absl::Seconds(10)), IsOk());
  search.EndPass();
  EXPECT_THAT(search.Active(), ElementsAre("a", "c"));
  search.EndPass();  // a: 6.5/21, c: 7.5/21
  EXPECT_THAT(search.Active(), ElementsAre("c"));
  EXPECT_EQ(search.Winner(), "c");
  search.EndPass();  // one arm: nothing changes
  EXPECT_EQ(search.Winner(), "c");
  const std::string text = search.Describe();
  EXPECT_THAT(text, HasSubstr("auto: winner c after 4 passes"));
  EXPECT_THAT(text, HasSubstr("  b: 0 of 10 runs failed, dropped after pass 1"));
  EXPECT_THAT(text, HasSubstr("  a: 6 of 20 runs failed, dropped after pass 3"));
  EXPECT_THAT(text, HasSubstr("  c: 7 of 20 runs failed, the winner"));
}

TEST(ArmSearch, TiesGoToTheCheaperArm) {
  ArmSearch search({"slow", "fast"});
  ASSERT_THAT(search.Record("slow", 10, 0, absl::Seconds(50)), IsOk());
  ASSERT_THAT(search.Record("fast", 10, 0, absl::Seconds(5)), IsOk());
  search.EndPass();
  EXPECT_EQ(search.Winner(), "fast");
}

TEST(ArmSearch, SkippedArmsNeverWinAndSayWhy) {
  ArmSearch search({"cgroup:20", "chaos:1"});
  ASSERT_THAT(search.Skip("cgroup:20", "no writable cgroup hierarchy"), IsOk());
  EXPECT_THAT(search.Active(), ElementsAre("chaos:1"));
  EXPECT_EQ(search.Winner(), "chaos:1");
  EXPECT_THAT(search.Describe(),
              HasSubstr("cgroup:20: 0 of 0 runs failed, skipped: no writable cgroup hierarchy"));
  ASSERT_THAT(search.Skip("chaos:1", "static binary"), IsOk());
  EXPECT_FALSE(search.Winner().has_value());
  EXPECT_THAT(search.Describe(), HasSubstr("auto: no winner"));
  EXPECT_THAT(search.Skip("nope", "x"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(search.Record("nope", 1, 0, absl::Seconds(1)),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST(ArmSearch, AnArmThatSettlesFirstCanBeChosen) {
  ArmSearch search({"a", "b", "c"});
  ASSERT_THAT(search.Choose("b"), IsOk());
  EXPECT_THAT(search.Active(), ElementsAre("b"));
  EXPECT_EQ(search.Winner(), "b");
  EXPECT_THAT(search.Choose("z"), StatusIs(absl::StatusCode::kNotFound));
}

TEST(ArmSearch, AnArmThatSettlesSomeTargetsLeavesTheSearchToTheOthers) {
  ArmSearch search({"chaos:1", "sched:1", "hogs:2"});
  ASSERT_THAT(search.Record("chaos:1", 10, 6, absl::Seconds(2)), IsOk());
  ASSERT_THAT(search.Settle("chaos:1", {"//a", "//b"}), IsOk());
  EXPECT_THAT(search.Active(), ElementsAre("sched:1", "hogs:2"));
  EXPECT_FALSE(search.Winner().has_value()) << "the others are still searched";
  ASSERT_THAT(search.Record("sched:1", 10, 4, absl::Seconds(2)), IsOk());
  ASSERT_THAT(search.Record("hogs:2", 10, 0, absl::Seconds(2)), IsOk());
  search.EndPass();
  EXPECT_EQ(search.Winner(), "sched:1");
  const std::string text = search.Describe();
  EXPECT_THAT(text, HasSubstr("chaos:1: 6 of 10 runs failed, settled //a //b first"));
  EXPECT_THAT(text, HasSubstr("sched:1: 4 of 10 runs failed, the winner"));
  EXPECT_THAT(search.Settle("z", {}), StatusIs(absl::StatusCode::kNotFound));
}

TEST(ArmSearch, DroppedArmsCanBeRevived) {
  ArmSearch search({"chaos:1", "sched:1", "hogs:2"});
  ASSERT_THAT(search.Record("chaos:1", 10, 6, absl::Seconds(2)), IsOk());
  ASSERT_THAT(search.Record("sched:1", 10, 1, absl::Seconds(2)), IsOk());
  ASSERT_THAT(search.Record("hogs:2", 10, 0, absl::Seconds(2)), IsOk());
  search.EndPass();
  search.EndPass();
  EXPECT_EQ(search.Winner(), "chaos:1");
  ASSERT_THAT(search.Settle("chaos:1", {"//a"}), IsOk());
  EXPECT_TRUE(search.Active().empty());
  ASSERT_THAT(search.Revive("sched:1"), IsOk());
  ASSERT_THAT(search.Revive("hogs:2"), IsOk());
  EXPECT_THAT(search.Active(), ElementsAre("sched:1", "hogs:2"));
  EXPECT_FALSE(search.Winner().has_value());
  EXPECT_THAT(search.Revive("sched:1"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(search.Revive("chaos:1"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(search.Revive("z"), StatusIs(absl::StatusCode::kNotFound));
  search.EndPass();
  EXPECT_EQ(search.Winner(), "sched:1");
}

}  // namespace
}  // namespace flaky::runner
