#include "bench/sections.h"

#include "base/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::bench {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::StatusIs;
using ::testing::ElementsAre;

TEST(FlakyCommand, PutsOurFlagsBeforeTheCallers) {
  EXPECT_THAT(FlakyCommand("/bin/flaky", "hunt", "/out/bench.db", "detect.none.1",
                           {"//t:a", "--runs=5", "--", "--local_test_jobs=8"}),
              ElementsAre("/bin/flaky", "hunt", "--store=/out/bench.db",
                          "--hunt_id=detect.none.1", "//t:a", "--runs=5", "--",
                          "--local_test_jobs=8"));
}

TEST(CheckFlakyExit, HuntSucceedsOnlyWithZero) {
  EXPECT_THAT(CheckFlakyExit("hunt", "h", {.code = 0}, "l"), IsOk());
  EXPECT_THAT(CheckFlakyExit("hunt", "detect.none.1", {.code = 1}, "/logs/x.log"),
              StatusIs(absl::StatusCode::kInternal,
                       "flaky hunt detect.none.1 ended with exit code 1 (log: "
                       "/logs/x.log)"));
  EXPECT_THAT(CheckFlakyExit("hunt", "h", {.code = -1, .signal = 9}, "l"),
              StatusIs(absl::StatusCode::kInternal));
}

TEST(CheckFlakyExit, GateVerdictsAreResults) {
  for (int code : {0, 1, 2}) {
    EXPECT_THAT(CheckFlakyExit("gate", "g", {.code = code}, "l"), IsOk()) << code;
  }
  EXPECT_THAT(CheckFlakyExit("gate", "g", {.code = 3}, "l"),
              StatusIs(absl::StatusCode::kInternal));
  EXPECT_THAT(CheckFlakyExit("gate", "g", {.code = 130}, "l"),
              StatusIs(absl::StatusCode::kInternal));
}

TEST(PeakResidentKiB, ReadsGnuTimesReport) {
  EXPECT_EQ(PeakResidentKiB("\tCommand being timed: \"x\"\n"
                            "\tMaximum resident set size (kbytes): 51234\n"
                            "\tExit status: 0\n"),
            51234);
  EXPECT_EQ(PeakResidentKiB("nothing here"), std::nullopt);
}

TEST(FallbackProfile, MatchesTheRace) {
  EXPECT_EQ(FallbackProfile("//bench/foreign:go_after_queuing_original"), "hogs:2");
  EXPECT_EQ(FallbackProfile("//bench/foreign:cpython_still_running_original"),
            "chaos:5,p=20,ms=5-10,cap=30");
  EXPECT_EQ(FallbackProfile("//tests/race:already_running_original"), "chaos:1");
}

TEST(ShortName, IsTheLabelsName) {
  EXPECT_EQ(ShortName("//tests/race:already_running_original"),
            "already_running_original");
  EXPECT_EQ(ShortName("plain"), "plain");
}

}  // namespace
}  // namespace flaky::bench
