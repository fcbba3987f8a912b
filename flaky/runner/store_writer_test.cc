#include "flaky/runner/store_writer.h"

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "base/status_matchers.h"
#include "flaky/results/store.h"
#include "flaky/results/trial.h"
#include "flaky/runner/clock.h"
#include "gtest/gtest.h"

namespace flaky::runner {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::StatusIs;

class StoreWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string path = absl::StrCat(
        std::getenv("TEST_TMPDIR"), "/",
        ::testing::UnitTest::GetInstance()->current_test_info()->name(), ".db");
    absl::StatusOr<std::unique_ptr<results::Store>> store = results::Store::Open(path);
    ASSERT_THAT(store, IsOk());
    store_ = std::move(*store);
    results::HuntRecord hunt;
    hunt.id = "h1";
    ASSERT_THAT(store_->BeginHunt(hunt), IsOk());
  }

  std::vector<results::Trial> Run(int run) {
    results::Trial trial;
    trial.hunt_id = "h1";
    trial.target = "//t:a_test";
    trial.test_case = "Suite.Race";
    trial.profile = "none";
    trial.run = run;
    return {trial};
  }

  int64_t Stored() {
    absl::StatusOr<std::vector<results::Trial>> trials = store_->ListTrials({});
    EXPECT_THAT(trials, IsOk());
    return trials.ok() ? static_cast<int64_t>(trials->size()) : -1;
  }

  ManualClock clock_{absl::FromUnixSeconds(1000)};
  std::unique_ptr<results::Store> store_;
};

TEST_F(StoreWriterTest, WritesAFullBatchAtOnce) {
  StoreWriter writer(*store_, clock_, {.batch_trials = 2, .batch_interval = absl::Hours(1)});
  ASSERT_THAT(writer.Accept(Run(1)), IsOk());
  EXPECT_EQ(Stored(), 0);
  ASSERT_THAT(writer.Accept(Run(2)), IsOk());
  EXPECT_EQ(Stored(), 2);
  EXPECT_EQ(writer.written(), 2);
}

TEST_F(StoreWriterTest, WritesAnOldBatchAndWhatIsLeftOnFlush) {
  StoreWriter writer(*store_, clock_, {.batch_trials = 100, .batch_interval = absl::Seconds(2)});
  ASSERT_THAT(writer.Accept(Run(1)), IsOk());
  EXPECT_EQ(Stored(), 0);
  clock_.Advance(absl::Seconds(2));
  ASSERT_THAT(writer.Accept(Run(2)), IsOk());
  EXPECT_EQ(Stored(), 2);
  ASSERT_THAT(writer.Accept(Run(3)), IsOk());
  EXPECT_EQ(Stored(), 2);
  ASSERT_THAT(writer.Flush(), IsOk());
  EXPECT_EQ(Stored(), 3);
  EXPECT_EQ(writer.written(), 3);
  ASSERT_THAT(writer.Flush(), IsOk());  // nothing left
  EXPECT_EQ(writer.written(), 3);
}

TEST_F(StoreWriterTest, AFailedWriteKeepsTheBatchForTheNextFlush) {
  StoreWriter writer(*store_, clock_, {.batch_trials = 1, .batch_interval = absl::Hours(1)});
  std::vector<results::Trial> unknown_hunt = Run(1);
  unknown_hunt[0].hunt_id = "never-begun";
  EXPECT_THAT(writer.Accept(unknown_hunt),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(writer.written(), 0);
  EXPECT_THAT(writer.Flush(), StatusIs(absl::StatusCode::kFailedPrecondition));
}

}  // namespace
}  // namespace flaky::runner
