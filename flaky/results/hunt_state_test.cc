#include "flaky/results/hunt_state.h"

#include "absl/status/status.h"
#include "base/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::results {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::StatusIs;
using ::testing::HasSubstr;

TEST(HuntMode, NamesParseBack) {
  for (HuntMode mode : {HuntMode::kBazelRuns, HuntMode::kInProcessRepeat}) {
    absl::StatusOr<HuntMode> parsed = ParseHuntMode(HuntModeName(mode));
    ASSERT_THAT(parsed, IsOk());
    EXPECT_EQ(*parsed, mode);
  }
  EXPECT_EQ(HuntModeName(HuntMode::kBazelRuns), "bazel_runs");
  EXPECT_EQ(HuntModeName(HuntMode::kInProcessRepeat), "in_process_repeat");
  EXPECT_THAT(ParseHuntMode("repeat"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unknown hunt mode 'repeat'")));
}

TEST(HuntStatus, StoredTextCarriesTheReason) {
  EXPECT_EQ(FormatHuntStatus(HuntStatus::kDone), "done");
  EXPECT_EQ(FormatHuntStatus(HuntStatus::kFailed, "bazel test failed"),
            "failed: bazel test failed");
  EXPECT_EQ(FormatHuntStatus(HuntStatus::kAbandoned, AbandonedReason(4242)),
            "abandoned: its process 4242 died");
  for (HuntStatus status : {HuntStatus::kRunning, HuntStatus::kDone,
                            HuntStatus::kInterrupted, HuntStatus::kFailed,
                            HuntStatus::kAbandoned}) {
    for (const char* reason : {"", "why: it broke"}) {
      absl::StatusOr<HuntState> parsed = ParseHuntStatus(FormatHuntStatus(status, reason));
      ASSERT_THAT(parsed, IsOk());
      EXPECT_EQ(parsed->status, status);
      EXPECT_EQ(parsed->reason, reason);
    }
  }
  EXPECT_THAT(ParseHuntStatus("finished"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "unknown hunt status 'finished'"));
  EXPECT_THAT(ParseHuntStatus("doner"), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace flaky::results
