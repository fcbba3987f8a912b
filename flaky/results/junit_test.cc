#include "flaky/results/junit.h"

#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/status_matchers.h"
#include "flaky/results/signature.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::results {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

// Written by this workspace's Bazel 4.2.3 and gtest 1.12 (see
// testdata/generate.sh), or damaged copies of those files.
std::string Testdata(absl::string_view name) {
  return absl::StrCat(std::getenv("TEST_SRCDIR"), "/",
                      std::getenv("TEST_WORKSPACE"),
                      "/flaky/results/testdata/", name);
}

TEST(ReadJUnitXml, GtestFailingRun) {
  absl::StatusOr<JUnitReport> report =
      ReadJUnitXml(Testdata("fixture_run2_fail.xml"));
  ASSERT_THAT(report, IsOk());
  EXPECT_FALSE(report->bazel_fallback);
  ASSERT_EQ(report->cases.size(), 4u);
  EXPECT_EQ(report->cases[0].test_case, "FixtureTest.AlwaysPasses");
  EXPECT_EQ(report->cases[0].suite, "FixtureTest");
  EXPECT_EQ(report->cases[0].name, "AlwaysPasses");
  EXPECT_EQ(report->cases[0].outcome, Outcome::kPass);
  EXPECT_EQ(report->cases[0].failure_message, "");

  const TestCaseResult& failed = report->cases[1];
  EXPECT_EQ(failed.test_case, "FixtureTest.FailsOnRunTwo");
  EXPECT_EQ(failed.outcome, Outcome::kFail);
  EXPECT_EQ(failed.failure_message,
            "flaky/results/testdata/fixture_test.cc:25\n"
            "Value of: RunNumber() != 2 && calls != 2\n"
            "  Actual: false\n"
            "Expected: true\n"
            "unrecognized interpreter ID 63");

  EXPECT_EQ(report->cases[2].test_case, "FixtureTest.Skipped");
  EXPECT_EQ(report->cases[2].outcome, Outcome::kSkipped)
      << "result=\"skipped\" with a <skipped> child";
  EXPECT_EQ(report->cases[3].test_case, "FixtureTest.DISABLED_NeverRuns");
  EXPECT_EQ(report->cases[3].outcome, Outcome::kSkipped)
      << "status=\"notrun\" result=\"suppressed\"";
}

TEST(ReadJUnitXml, GtestPassingRun) {
  absl::StatusOr<JUnitReport> report =
      ReadJUnitXml(Testdata("fixture_run1_pass.xml"));
  ASSERT_THAT(report, IsOk());
  ASSERT_EQ(report->cases.size(), 4u);
  EXPECT_EQ(report->cases[1].outcome, Outcome::kPass);
}

TEST(ReadJUnitXml, ShardHoldsItsOwnCases) {
  absl::StatusOr<JUnitReport> report =
      ReadJUnitXml(Testdata("sharded_shard2_run1_fail.xml"));
  ASSERT_THAT(report, IsOk());
  ASSERT_EQ(report->cases.size(), 2u);
  EXPECT_EQ(report->cases[0].test_case, "ShardedTest.B");
  EXPECT_EQ(report->cases[0].outcome, Outcome::kFail);
  EXPECT_THAT(report->cases[0].failure_message,
              HasSubstr("interpreter already running"));
  EXPECT_EQ(report->cases[1].test_case, "ShardedTest.D");
  EXPECT_EQ(report->cases[1].outcome, Outcome::kPass);
}

TEST(ReadJUnitXml, BazelFallbackIsOneWholeTargetCase) {
  absl::StatusOr<JUnitReport> failed =
      ReadJUnitXml(Testdata("plain_run2_fail.xml"));
  ASSERT_THAT(failed, IsOk());
  EXPECT_TRUE(failed->bazel_fallback);
  ASSERT_EQ(failed->cases.size(), 1u);
  EXPECT_EQ(failed->cases[0].test_case, "");
  EXPECT_EQ(failed->cases[0].outcome, Outcome::kError);
  EXPECT_EQ(failed->cases[0].failure_message, "exited with error code 1");
  EXPECT_EQ(failed->cases[0].duration, absl::Seconds(1));

  absl::StatusOr<JUnitReport> passed =
      ReadJUnitXml(Testdata("plain_run1_pass.xml"));
  ASSERT_THAT(passed, IsOk());
  EXPECT_TRUE(passed->bazel_fallback);
  ASSERT_EQ(passed->cases.size(), 1u);
  EXPECT_EQ(passed->cases[0].outcome, Outcome::kPass);
}

TEST(ReadJUnitXml, TimeoutLeavesOnlyTheFallback) {
  // gtest was killed before writing its XML; the BEP status says TIMEOUT.
  absl::StatusOr<JUnitReport> report = ReadJUnitXml(Testdata("timeout.xml"));
  ASSERT_THAT(report, IsOk());
  EXPECT_TRUE(report->bazel_fallback);
  ASSERT_EQ(report->cases.size(), 1u);
  EXPECT_EQ(report->cases[0].failure_message, "exited with error code 142");
}

TEST(ReadJUnitXml, GtestRepeatKeepsOnlyTheLastIteration) {
  // Iteration 2 of 3 failed (see gtest_repeat.log), yet the XML, rewritten
  // after each iteration, shows only the passing last one.
  absl::StatusOr<JUnitReport> report =
      ReadJUnitXml(Testdata("gtest_repeat.xml"));
  ASSERT_THAT(report, IsOk());
  ASSERT_EQ(report->cases.size(), 4u);
  EXPECT_EQ(report->cases[1].test_case, "FixtureTest.FailsOnRunTwo");
  EXPECT_EQ(report->cases[1].outcome, Outcome::kPass);
}

TEST(ReadJUnitXml, DamagedFilesAreInvalidArgumentWithTheReason) {
  const std::string truncated = Testdata("truncated.xml");
  EXPECT_THAT(ReadJUnitXml(truncated),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr(truncated),
                             HasSubstr("is not well-formed XML"),
                             HasSubstr("at byte"))));
  EXPECT_THAT(ReadJUnitXml(Testdata("malformed.xml")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Start-end tags mismatch")));
  EXPECT_THAT(ReadJUnitXml(Testdata("empty.xml")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("is empty: the test wrote no JUnit XML")));
}

TEST(ReadJUnitXml, MissingFileIsNotFound) {
  EXPECT_THAT(ReadJUnitXml(Testdata("no_such.xml")),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("no_such.xml does not exist")));
}

TEST(ParseJUnitXml, OtherWritersAndNestedSuites) {
  absl::StatusOr<JUnitReport> report = ParseJUnitXml(R"(<?xml version="1.0"?>
<testsuite name="outer">
  <testsuite name="inner">
    <testcase classname="pkg.Test" name="a" time="0.25"/>
    <testcase classname="pkg.Test" name="b"><error type="E">boom
at line 3</error></testcase>
    <testcase name="c"><skipped/></testcase>
  </testsuite>
</testsuite>)");
  ASSERT_THAT(report, IsOk());
  ASSERT_EQ(report->cases.size(), 3u);
  EXPECT_EQ(report->cases[0].test_case, "pkg.Test.a");
  EXPECT_EQ(report->cases[0].duration, absl::Milliseconds(250));
  EXPECT_EQ(report->cases[1].outcome, Outcome::kError);
  EXPECT_EQ(report->cases[1].failure_message, "boom\nat line 3");
  EXPECT_EQ(report->cases[2].test_case, "inner.c");
  EXPECT_EQ(report->cases[2].outcome, Outcome::kSkipped);
  EXPECT_FALSE(report->bazel_fallback);
}

TEST(ParseJUnitXml, WrongRootIsInvalidArgument) {
  EXPECT_THAT(ParseJUnitXml("<html><body/></html>", "x.xml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("x.xml is not JUnit XML: the root element is "
                                 "<html>")));
}

TEST(ParseJUnitXml, FailureMessagesOfOneAssertionShareASignature) {
  absl::StatusOr<JUnitReport> report =
      ReadJUnitXml(Testdata("fixture_run2_fail.xml"));
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(FailureSignature(report->cases[1].failure_message),
            FailureSignature("flaky/results/testdata/fixture_test.cc:25\n"
                             "Value of: RunNumber() != 2 && calls != 2\n"
                             "  Actual: false\n"
                             "Expected: true\n"
                             "unrecognized interpreter ID 70"));
}

}  // namespace
}  // namespace flaky::results
