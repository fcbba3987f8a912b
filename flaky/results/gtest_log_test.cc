#include "flaky/results/gtest_log.h"

#include <cstdlib>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/status_matchers.h"
#include "flaky/results/junit.h"
#include "flaky/results/signature.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::results {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string Testdata(absl::string_view name) {
  return absl::StrCat(std::getenv("TEST_SRCDIR"), "/",
                      std::getenv("TEST_WORKSPACE"),
                      "/flaky/results/testdata/", name);
}

using CaseKey = std::tuple<int, std::string, Outcome>;

std::vector<CaseKey> Keys(const GtestLog& log) {
  std::vector<CaseKey> keys;
  for (const GtestLogCase& c : log.cases) {
    keys.emplace_back(c.iteration, c.test_case, c.outcome);
  }
  return keys;
}

TEST(ReadGtestLog, OneRun) {
  absl::StatusOr<GtestLog> log = ReadGtestLog(Testdata("fixture_run2_fail.log"));
  ASSERT_THAT(log, IsOk());
  EXPECT_EQ(log->iterations, 0);
  // The summary lists after the run ("[  FAILED  ] FixtureTest.Fails...")
  // are not counted again; disabled tests never start, so never appear.
  EXPECT_THAT(Keys(*log),
              ElementsAre(CaseKey{0, "FixtureTest.AlwaysPasses", Outcome::kPass},
                          CaseKey{0, "FixtureTest.FailsOnRunTwo", Outcome::kFail},
                          CaseKey{0, "FixtureTest.Skipped", Outcome::kSkipped}));
  EXPECT_EQ(log->cases[1].failure_message,
            "flaky/results/testdata/fixture_test.cc:25\n"
            "Value of: RunNumber() != 2 && calls != 2\n"
            "  Actual: false\n"
            "Expected: true\n"
            "unrecognized interpreter ID 63");
  EXPECT_EQ(log->cases[2].failure_message, "");
}

TEST(ReadGtestLog, LogAndXmlMessagesAgree) {
  absl::StatusOr<GtestLog> log = ReadGtestLog(Testdata("fixture_run2_fail.log"));
  absl::StatusOr<JUnitReport> xml = ReadJUnitXml(Testdata("fixture_run2_fail.xml"));
  ASSERT_THAT(log, IsOk());
  ASSERT_THAT(xml, IsOk());
  EXPECT_EQ(log->cases[1].failure_message, xml->cases[1].failure_message);
}

TEST(ReadGtestLog, EveryIterationOfGtestRepeat) {
  absl::StatusOr<GtestLog> log = ReadGtestLog(Testdata("gtest_repeat.log"));
  ASSERT_THAT(log, IsOk());
  EXPECT_EQ(log->iterations, 3);
  EXPECT_THAT(
      Keys(*log),
      ElementsAre(CaseKey{1, "FixtureTest.AlwaysPasses", Outcome::kPass},
                  CaseKey{1, "FixtureTest.FailsOnRunTwo", Outcome::kPass},
                  CaseKey{1, "FixtureTest.Skipped", Outcome::kSkipped},
                  CaseKey{2, "FixtureTest.AlwaysPasses", Outcome::kPass},
                  CaseKey{2, "FixtureTest.FailsOnRunTwo", Outcome::kFail},
                  CaseKey{2, "FixtureTest.Skipped", Outcome::kSkipped},
                  CaseKey{3, "FixtureTest.AlwaysPasses", Outcome::kPass},
                  CaseKey{3, "FixtureTest.FailsOnRunTwo", Outcome::kPass},
                  CaseKey{3, "FixtureTest.Skipped", Outcome::kSkipped}));
  EXPECT_THAT(log->cases[4].failure_message,
              HasSubstr("unrecognized interpreter ID 62"));
}

TEST(ReadGtestLog, TimeoutBannerEndsTheRunningCase) {
  absl::StatusOr<GtestLog> log = ReadGtestLog(Testdata("timeout.log"));
  ASSERT_THAT(log, IsOk());
  ASSERT_THAT(Keys(*log),
              ElementsAre(CaseKey{0, "TimeoutTest.Hangs", Outcome::kTimeout}));
  EXPECT_THAT(log->cases[0].failure_message,
              StartsWith("Bazel's timeout killed the test (-- Test timed out at"));
}

TEST(ParseGtestLog, DeathWithoutVerdictIsACrash) {
  GtestLog log = ParseGtestLog(
      "[ RUN      ] A.First\n"
      "[       OK ] A.First (12 ms)\n"
      "[ RUN      ] A.Second\n"
      "about to dereference\n"
      "\n");
  ASSERT_THAT(Keys(log), ElementsAre(CaseKey{0, "A.First", Outcome::kPass},
                                     CaseKey{0, "A.Second", Outcome::kCrashed}));
  EXPECT_EQ(log.cases[0].duration, absl::Milliseconds(12));
  EXPECT_EQ(log.cases[1].failure_message,
            "test.log ends before the test case's verdict (the process died); "
            "last output:\nabout to dereference");
}

TEST(ParseGtestLog, ParameterisedNamesAndCrLf) {
  GtestLog log = ParseGtestLog(
      "[ RUN      ] P/Suite.Name/0\r\n"
      "x.cc:3: Failure\r\n"
      "boom\r\n"
      "[  FAILED  ] P/Suite.Name/0, where GetParam() = 4 (3 ms)\r\n");
  ASSERT_THAT(Keys(log),
              ElementsAre(CaseKey{0, "P/Suite.Name/0", Outcome::kFail}));
  EXPECT_EQ(log.cases[0].failure_message, "x.cc:3\nboom");
  EXPECT_EQ(log.cases[0].duration, absl::Milliseconds(3));
}

TEST(ParseGtestLog, NonGtestOutputHasNoCases) {
  GtestLog log = ParseGtestLog("plain fixture: failing on run 2\n");
  EXPECT_TRUE(log.cases.empty());
  EXPECT_EQ(log.iterations, 0);
}

TEST(ReadGtestLog, MissingFileIsNotFound) {
  EXPECT_THAT(ReadGtestLog(Testdata("no_such.log")),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no_such.log")));
}

}  // namespace
}  // namespace flaky::results
