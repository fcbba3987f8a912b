#include "flaky/runner/run_trials.h"

#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "flaky/results/bep.h"
#include "flaky/results/trial.h"
#include "flaky/starve/record.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::runner {
namespace {

using results::BepTestResult;
using results::Outcome;
using results::Trial;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// Shapes copied from files this Bazel (4.2.3) and googletest 1.12 wrote.
constexpr char kPassFailSkipXml[] = R"(<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="3" failures="1" disabled="0" errors="0" time="0.002" name="AllTests">
  <testsuite name="Fixture" tests="3" failures="1" disabled="0" skipped="1" errors="0" time="0.002">
    <testcase name="AlwaysPasses" status="run" result="completed" time="0.001" classname="Fixture" />
    <testcase name="FailsOnSchedule" status="run" result="completed" time="0" classname="Fixture">
      <failure message="tests/e2e/flaky_fixture_test.cc:44&#x0A;scheduled failure in run 7" type=""><![CDATA[tests/e2e/flaky_fixture_test.cc:44
scheduled failure in run 7]]></failure>
    </testcase>
    <testcase name="IsSkipped" status="run" result="skipped" time="0" classname="Fixture">
      <skipped message="skipped on purpose"><![CDATA[skipped on purpose]]></skipped>
    </testcase>
  </testsuite>
</testsuites>
)";

constexpr char kAllPassXml[] = R"(<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="1" failures="0" disabled="0" errors="0" time="0" name="AllTests">
  <testsuite name="Fixture" tests="1" failures="0" disabled="0" skipped="0" errors="0" time="0">
    <testcase name="AlwaysPasses" status="run" result="completed" time="0" classname="Fixture" />
  </testsuite>
</testsuites>
)";

constexpr char kTimeoutFallbackXml[] = R"(<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="t/timeout_test" tests="1" failures="0" errors="1">
    <testcase name="t/timeout_test" status="run" duration="2" time="2"><error message="exited with error code 142"></error></testcase>
  </testsuite>
</testsuites>
)";

// The wrapper's record line comes from the starve library itself, so the
// test follows its format.
std::string TimeoutLog() {
  starve::AppliedRecord record;
  record.profile = "chaos:7";
  record.cpus = {0, 1};
  record.chaos = starve::AppliedChaos{};
  record.chaos->seed = 7;
  record.wrapper_pid = 42;
  return absl::StrCat(R"(exec ${PAGER:-/usr/bin/less} "$0" || exit 1
Executing tests from //t:timeout_test
-----------------------------------------------------------------------------
)",
                      starve::kRecordTag, record.ToJson(), "\n",
                      R"([==========] Running 2 tests from 1 test suite.
[----------] 2 tests from TimeoutTest
[ RUN      ] TimeoutTest.Quick
[       OK ] TimeoutTest.Quick (0 ms)
[ RUN      ] TimeoutTest.Hangs
-- Test timed out at 2026-11-27 17:42:43 UTC --
)");
}

constexpr char kRepeatLog[] = R"(Executing tests from //t:a_test
Repeating all tests (iteration 1) . . .

[ RUN      ] Suite.Race
[       OK ] Suite.Race (1 ms)

Repeating all tests (iteration 2) . . .

[ RUN      ] Suite.Race
t.cc:10: Failure
unrecognized interpreter ID 61
[  FAILED  ] Suite.Race (2 ms)
[  FAILED  ] Suite.Race

Repeating all tests (iteration 3) . . .

[ RUN      ] Suite.Race
[       OK ] Suite.Race (1 ms)
)";

BepTestResult BepRun(const std::string& status, int run = 7) {
  BepTestResult result;
  result.label = "//tests/e2e:flaky_fixture_test";
  result.run = run;
  result.shard = 1;
  result.attempt = 1;
  result.status = status;
  result.duration = absl::Milliseconds(36);
  result.started_at = absl::FromUnixMillis(1764265335000);
  result.test_log = "/out/run_7_of_10/test.log";
  result.test_xml = "/out/run_7_of_10/test.xml";
  return result;
}

RunContext Context() {
  return {.hunt_id = "h1", .profile = "hogs:2", .commit = "abc123",
          .host = "ci-7"};
}

TEST(AssembleTrials, OneTrialPerTestCaseWithContextAndSignature) {
  std::vector<Trial> trials = AssembleTrials(
      BepRun("FAILED"), {.test_xml = std::string(kPassFailSkipXml),
                      .test_log = std::string("no record here\n")},
      Context());
  ASSERT_THAT(trials, SizeIs(3));
  EXPECT_EQ(trials[0].test_case, "Fixture.AlwaysPasses");
  EXPECT_EQ(trials[0].outcome, Outcome::kPass);
  EXPECT_EQ(trials[0].duration, absl::Milliseconds(1));
  EXPECT_THAT(trials[0].failure_signature, IsEmpty());
  EXPECT_EQ(trials[1].test_case, "Fixture.FailsOnSchedule");
  EXPECT_EQ(trials[1].outcome, Outcome::kFail);
  EXPECT_THAT(trials[1].failure_message, HasSubstr("scheduled failure in run 7"));
  EXPECT_THAT(trials[1].failure_signature, HasSubstr("scheduled failure in run N"));
  EXPECT_EQ(trials[2].outcome, Outcome::kSkipped);
  for (const Trial& trial : trials) {
    EXPECT_EQ(trial.hunt_id, "h1");
    EXPECT_EQ(trial.target, "//tests/e2e:flaky_fixture_test");
    EXPECT_EQ(trial.profile, "hogs:2");
    EXPECT_EQ(trial.run, 7);
    EXPECT_EQ(trial.shard, 0);
    EXPECT_EQ(trial.attempt, 1);
    EXPECT_EQ(trial.commit, "abc123");
    EXPECT_EQ(trial.host, "ci-7");
    EXPECT_EQ(trial.log_path, "/out/run_7_of_10/test.log");
    EXPECT_EQ(trial.started_at, absl::FromUnixMillis(1764265335000));
    EXPECT_FALSE(trial.seed.has_value());
  }
}

TEST(AssembleTrials, TheRecordsHostIsWhereTheRunRan) {
  // Bazel remote execution: the hunt runs on ci-7, the run on a worker.
  starve::AppliedRecord record;
  record.profile = "none";
  record.cpus = {0};
  record.wrapper_pid = 42;
  record.host = "remote-worker-2";
  std::vector<Trial> remote = AssembleTrials(
      BepRun("PASSED"),
      {.test_xml = std::string(kAllPassXml),
       .test_log = absl::StrCat(starve::kRecordTag, record.ToJson(), "\n")},
      Context());
  ASSERT_THAT(remote, SizeIs(1));
  EXPECT_EQ(remote[0].host, "remote-worker-2");

  // A record without a host (an older wrapper) keeps the hunt's.
  record.host = "";
  std::vector<Trial> local = AssembleTrials(
      BepRun("PASSED"),
      {.test_xml = std::string(kAllPassXml),
       .test_log = absl::StrCat(starve::kRecordTag, record.ToJson(), "\n")},
      Context());
  ASSERT_THAT(local, SizeIs(1));
  EXPECT_EQ(local[0].host, "ci-7");
}

TEST(OutputsLeftRemote, LocalAndDownloadedRunsAreReadable) {
  EXPECT_EQ(OutputsLeftRemote(BepRun("PASSED")), std::nullopt);
  BepTestResult remote = BepRun("FAILED");
  remote.strategy = "remote";  // --remote_download_toplevel: files are here
  EXPECT_EQ(OutputsLeftRemote(remote), std::nullopt);
  BepTestResult aborted;  // never ran: no status, no outputs
  aborted.strategy = "remote";
  EXPECT_EQ(OutputsLeftRemote(aborted), std::nullopt);
}

TEST(OutputsLeftRemote, NamesTheOutputBazelLeftInTheRemoteCache) {
  BepTestResult run = BepRun("PASSED");
  run.test_xml = "";
  run.non_local_outputs = {"test.xml bytestream://127.0.0.1:9/blobs/ab/12"};
  EXPECT_EQ(OutputsLeftRemote(run),
            "run 7 of //tests/e2e:flaky_fixture_test: Bazel left its "
            "test.xml bytestream://127.0.0.1:9/blobs/ab/12 in the remote "
            "cache, not on this machine");
}

TEST(OutputsLeftRemote, ARemoteRunWithoutTestXmlIsNotAFailure) {
  // --remote_download_minimal with file:// URIs: a passing remote run
  // reports test.log only.
  BepTestResult run = BepRun("PASSED");
  run.strategy = "remote";
  run.test_xml = "";
  EXPECT_EQ(OutputsLeftRemote(run),
            "run 7 of //tests/e2e:flaky_fixture_test ran remotely (PASSED) "
            "but Bazel brought back no test.xml");
}

TEST(AssembleTrials, FailedRunWhoseCasesAllPassedAddsACrashedTrial) {
  std::vector<Trial> trials = AssembleTrials(
      BepRun("FAILED"), {.test_xml = std::string(kAllPassXml)}, Context());
  ASSERT_THAT(trials, SizeIs(2));
  EXPECT_EQ(trials[0].outcome, Outcome::kPass);
  EXPECT_EQ(trials[1].test_case, "");
  EXPECT_EQ(trials[1].outcome, Outcome::kCrashed);
  EXPECT_THAT(trials[1].failure_message, HasSubstr("every test case passed"));
  EXPECT_THAT(trials[1].failure_signature, ::testing::Not(IsEmpty()));
}

TEST(AssembleTrials, MissingXmlIsAnErrorTrialWithTheReason) {
  std::vector<Trial> trials = AssembleTrials(
      BepRun("PASSED"),
      {.test_xml = absl::NotFoundError("test.xml missing: /out/test.xml")},
      Context());
  ASSERT_THAT(trials, SizeIs(1));
  EXPECT_EQ(trials[0].test_case, "");
  EXPECT_EQ(trials[0].outcome, Outcome::kError);
  EXPECT_THAT(trials[0].failure_message,
              HasSubstr("unusable test.xml (Bazel says PASSED): test.xml "
                        "missing: /out/test.xml"));
}

TEST(AssembleTrials, MalformedXmlIsAnErrorTrialWithTheParserReason) {
  std::vector<Trial> trials = AssembleTrials(
      BepRun("PASSED"),
      {.test_xml = std::string("<testsuites><testsuite name=\"x\"><testc")},
      Context());
  ASSERT_THAT(trials, SizeIs(1));
  EXPECT_EQ(trials[0].outcome, Outcome::kError);
  EXPECT_THAT(trials[0].failure_message, HasSubstr("unusable test.xml"));
  EXPECT_THAT(trials[0].failure_message, HasSubstr("/out/run_7_of_10/test.xml"));
}

TEST(AssembleTrials, TimeoutUsesTheLogToBlameTheRunningCaseAndKeepsTheRecord) {
  std::vector<Trial> trials = AssembleTrials(
      BepRun("TIMEOUT"),
      {.test_xml = std::string(kTimeoutFallbackXml),
       .test_log = TimeoutLog()},
      Context());
  ASSERT_THAT(trials, SizeIs(2));
  EXPECT_EQ(trials[0].test_case, "TimeoutTest.Quick");
  EXPECT_EQ(trials[0].outcome, Outcome::kPass);
  EXPECT_EQ(trials[1].test_case, "TimeoutTest.Hangs");
  EXPECT_EQ(trials[1].outcome, Outcome::kTimeout);
  for (const Trial& trial : trials) {
    ASSERT_TRUE(trial.seed.has_value());
    EXPECT_EQ(*trial.seed, 7u);
    EXPECT_THAT(trial.applied, HasSubstr("\"profile\":\"chaos:7\""));
  }
}

TEST(AssembleTrials, TimeoutWithoutGtestOutputIsOneTimeoutTrial) {
  std::vector<Trial> trials = AssembleTrials(
      BepRun("TIMEOUT"),
      {.test_xml = std::string(kTimeoutFallbackXml),
       .test_log = std::string("plain script output\n")},
      Context());
  ASSERT_THAT(trials, SizeIs(1));
  EXPECT_EQ(trials[0].outcome, Outcome::kTimeout);
  EXPECT_EQ(trials[0].test_case, "");
}

TEST(AssembleTrials, FallbackXmlOfANonGtestTargetIsOneTrial) {
  constexpr char kShFallback[] = R"(<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="t/sh_test" tests="1" failures="0" errors="1">
    <testcase name="t/sh_test" status="run" duration="0" time="0"><error message="exited with error code 1"></error></testcase>
  </testsuite>
</testsuites>
)";
  std::vector<Trial> trials = AssembleTrials(
      BepRun("FAILED"),
      {.test_xml = std::string(kShFallback),
       .test_log = std::string("something broke\n")},
      Context());
  ASSERT_THAT(trials, SizeIs(1));
  EXPECT_EQ(trials[0].test_case, "");
  EXPECT_EQ(trials[0].outcome, Outcome::kFail);
  EXPECT_EQ(trials[0].failure_message, "exited with error code 1");
}

TEST(AssembleTrials, InProcessRepetitionYieldsATrialPerIteration) {
  RunContext context = Context();
  context.in_process_repeat = true;
  std::vector<Trial> trials = AssembleTrials(
      BepRun("FAILED"),
      {.test_xml = std::string(kAllPassXml),
       .test_log = std::string(kRepeatLog)},
      context);
  ASSERT_THAT(trials, SizeIs(3));
  EXPECT_EQ(trials[0].repetition, 1);
  EXPECT_EQ(trials[0].outcome, Outcome::kPass);
  EXPECT_EQ(trials[1].repetition, 2);
  EXPECT_EQ(trials[1].outcome, Outcome::kFail);
  EXPECT_THAT(trials[1].failure_signature,
              HasSubstr("unrecognized interpreter ID N"));
  EXPECT_EQ(trials[2].repetition, 3);
  // Each iteration starts when the earlier ones (1 ms, 2 ms) had ended.
  const absl::Time run_start = absl::FromUnixMillis(1764265335000);
  EXPECT_EQ(trials[0].started_at, run_start);
  EXPECT_EQ(trials[1].started_at, run_start + absl::Milliseconds(1));
  EXPECT_EQ(trials[2].started_at, run_start + absl::Milliseconds(3));
}

TEST(AssembleTrials, OtherBazelStatusesAreOneTrialNamingTheStatus) {
  std::vector<Trial> trials =
      AssembleTrials(BepRun("INCOMPLETE"), RunFiles{}, Context());
  ASSERT_THAT(trials, SizeIs(1));
  EXPECT_EQ(trials[0].outcome, Outcome::kCrashed);
  EXPECT_EQ(trials[0].failure_message, "Bazel reported INCOMPLETE for this run");
}

TEST(FindStarveError, ReturnsTheWrapperMessage) {
  EXPECT_EQ(FindStarveError("header\nflaky-starve: error: cgroup:20: "
                            "/sys/fs/cgroup is read-only\nrest\n"),
            "cgroup:20: /sys/fs/cgroup is read-only");
  EXPECT_FALSE(FindStarveError("all fine\n").has_value());
}

TEST(ReadRunFiles, ReadsBothFilesAndReportsMissingOnes) {
  const std::string dir = std::getenv("TEST_TMPDIR");
  std::ofstream(dir + "/test.log") << "log text\n";
  BepTestResult run = BepRun("PASSED");
  run.test_log = dir + "/test.log";
  run.test_xml = dir + "/no-such.xml";
  RunFiles files = ReadRunFiles(run);
  ASSERT_TRUE(files.test_log.ok());
  EXPECT_EQ(*files.test_log, "log text\n");
  EXPECT_EQ(files.test_xml.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(files.test_xml.status().message()),
              HasSubstr("no-such.xml"));
  run.test_xml = "";
  EXPECT_THAT(std::string(ReadRunFiles(run).test_xml.status().message()),
              HasSubstr("Bazel reported no test.xml"));
}

}  // namespace
}  // namespace flaky::runner
