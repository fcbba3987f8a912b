#include "flaky/runner/direct.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "base/status_matchers.h"
#include "base/test_files.h"
#include "flaky/results/junit.h"
#include "flaky/runner/clock.h"
#include "flaky/runner/launcher.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::runner {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::ReadFileOrEmpty;
using ::flaky::testing::StatusIs;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

std::string Tmp(const std::string& name) {
  return absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name);
}

void MakeDirs(const std::string& path) {
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') mkdir(path.substr(0, i).c_str(), 0755);
  }
}

// A bazel-bin with one "test" (a shell script) and its runfiles tree, as
// `bazel build` leaves them.
std::string FakeBazelBin(const std::string& name, const std::string& script) {
  const std::string bin = Tmp(name + "/bazel-bin");
  MakeDirs(bin + "/pkg/t.runfiles/ws/pkg");
  const std::string executable = bin + "/pkg/t";
  std::ofstream(executable) << "#!/bin/sh\n" << script;
  chmod(executable.c_str(), 0755);
  return bin;
}

const char kQuery[] = R"(<?xml version="1.1" encoding="UTF-8" standalone="no"?>
<query version="2">
    <rule class="sh_test" location="/ws/pkg/BUILD:1:8" name="//pkg:t">
        <string name="name" value="t"/>
        <string name="size" value="small"/>
        <list name="args">
            <string value="--a=1"/>
            <string value="b c"/>
        </list>
        <dict name="env">
            <pair>
                <string value="FROM_TARGET"/>
                <string value="yes"/>
            </pair>
        </dict>
    </rule>
</query>
)";

TEST(ParseDirectTests, ReadsTheRuleAndFindsItsBinary) {
  const std::string bin = FakeBazelBin("parse", "exit 0\n");
  absl::StatusOr<std::vector<DirectTest>> tests = ParseDirectTests(kQuery, bin, "ws");
  ASSERT_THAT(tests, IsOk());
  ASSERT_EQ(tests->size(), 1u);
  const DirectTest& t = (*tests)[0];
  EXPECT_EQ(t.label, "//pkg:t");
  EXPECT_EQ(t.executable, bin + "/pkg/t");
  EXPECT_EQ(t.runfiles_dir, bin + "/pkg/t.runfiles");
  EXPECT_THAT(t.args, ElementsAre("--a=1", "b c"));
  EXPECT_THAT(t.env, ElementsAre(Pair("FROM_TARGET", "yes")));
  EXPECT_EQ(t.timeout, absl::Seconds(60));  // small
}

TEST(ParseDirectTests, StartsTheTestByItsPathInItsRunfilesTree) {
  const std::string bin = FakeBazelBin("in_runfiles", "exit 0\n");
  const std::string link = bin + "/pkg/t.runfiles/ws/pkg/t";
  ASSERT_EQ(symlink((bin + "/pkg/t").c_str(), link.c_str()), 0);
  absl::StatusOr<std::vector<DirectTest>> tests = ParseDirectTests(kQuery, bin, "ws");
  ASSERT_THAT(tests, IsOk());
  EXPECT_EQ((*tests)[0].executable, link);
}

TEST(ParseDirectTests, SaysWhyATargetCannotRunDirectly) {
  const std::string bin = FakeBazelBin("cannot", "exit 0\n");
  const std::string sharded = std::string(kQuery).replace(
      std::string(kQuery).find("<list name=\"args\">"), 0,
      "<int name=\"shard_count\" value=\"3\"/>\n");
  EXPECT_THAT(ParseDirectTests(sharded, bin, "ws"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("//pkg:t cannot run directly: it is sharded")));
  std::string library = kQuery;
  library.replace(library.find("sh_test"), 7, "cc_library");
  EXPECT_THAT(ParseDirectTests(library, bin, "ws"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("//pkg:t: it is a cc_library, not a test")));
  EXPECT_THAT(ParseDirectTests(kQuery, Tmp("nowhere"), "ws"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("//pkg:t: its binary")));
  EXPECT_THAT(ParseDirectTests(kQuery, Tmp("nowhere"), "ws"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("is missing from bazel-bin")));
  std::string make_variable = kQuery;
  make_variable.replace(make_variable.find("--a=1"), 5, "$(location x)");
  EXPECT_THAT(ParseDirectTests(make_variable, bin, "ws"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("make variables")));
  EXPECT_THAT(ParseDirectTests("not xml", bin, "ws"),
              StatusIs(absl::StatusCode::kUnknown));
}

TEST(WorkspaceName, ReadsTheWorkspaceCall) {
  MakeDirs(Tmp("ws1"));
  std::ofstream(Tmp("ws1/WORKSPACE")) << "# hi\nworkspace(name = \"flaky\")\n";
  EXPECT_EQ(WorkspaceName(Tmp("ws1")), "flaky");
  MakeDirs(Tmp("ws2"));
  std::ofstream(Tmp("ws2/WORKSPACE")) << "\n";
  EXPECT_EQ(WorkspaceName(Tmp("ws2")), "__main__");
}

TEST(TestEnvFromFlags, TakesValuesAndInheritsNamesLaterWinning) {
  auto getenv = [](const char* name) -> const char* {
    return std::string(name) == "FROM_US" ? "inherited" : nullptr;
  };
  EXPECT_THAT(TestEnvFromFlags({"--test_env=A=1", "--nocache", "--test_env=FROM_US",
                                "--test_env=UNSET", "--test_env=A=2"},
                               getenv),
              ElementsAre(Pair("A", "2"), Pair("FROM_US", "inherited")));
}

// The "test" records what it got, then passes on odd runs and fails on
// even ones; run 3 writes its own XML.
constexpr char kRecorder[] = R"sh(
echo "args:$*"
echo "cwd:$(pwd)"
env | sort
if [ "$TEST_RANDOM_SEED" = 3 ]; then
  echo '<testsuites><testsuite name="S"><testcase name="Own" classname="S" status="run" time="0"/></testsuite></testsuites>' > "$XML_OUTPUT_FILE"
fi
touch "$TEST_TMPDIR/was-here"
exit $(( TEST_RANDOM_SEED % 2 == 0 ? 7 : 0 ))
)sh";

std::map<std::string, std::string> EnvOf(const std::string& log) {
  std::map<std::string, std::string> env;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    const size_t equals = line.find('=');
    if (equals != absl::string_view::npos && line.find(':') > equals) {
      env[std::string(line.substr(0, equals))] = std::string(line.substr(equals + 1));
    }
  }
  return env;
}

TEST(RunDirectRound, RunsEachTestFreshWithBazelsEnvironment) {
  const std::string bin = FakeBazelBin("round", kRecorder);
  std::vector<DirectTest> tests = *ParseDirectTests(kQuery, bin, "ws");
  DirectRoundOptions options;
  options.tests = tests;
  options.runs = 4;
  options.jobs = 2;
  options.test_env = {{"FROM_FLAG", "1"}};
  options.extra_args = {"--extra"};
  options.work_dir = Tmp("round/work");
  PosixLauncher launcher;
  RealClock clock;
  std::atomic<bool> stop{false};
  std::vector<results::BepTestResult> results;
  absl::StatusOr<bool> interrupted = RunDirectRound(
      options, launcher, clock, stop, nullptr, absl::Seconds(5),
      [&](const results::BepTestResult& r) {
        results.push_back(r);
        return absl::OkStatus();
      });
  ASSERT_THAT(interrupted, IsOk());
  EXPECT_FALSE(*interrupted);
  ASSERT_EQ(results.size(), 4u);
  std::map<int, results::BepTestResult> by_run;
  for (const auto& r : results) by_run[r.run] = r;
  EXPECT_EQ(by_run[1].status, "PASSED");
  EXPECT_EQ(by_run[2].status, "FAILED");
  EXPECT_EQ(by_run[2].label, "//pkg:t");
  EXPECT_EQ(by_run[2].strategy, "direct");
  const std::string log = ReadFileOrEmpty(by_run[2].test_log);
  EXPECT_THAT(log, HasSubstr("args:--a=1 b c --extra"));
  EXPECT_THAT(log, HasSubstr("cwd:" + bin + "/pkg/t.runfiles/ws"));
  std::map<std::string, std::string> env = EnvOf(log);
  EXPECT_EQ(env["TEST_RANDOM_SEED"], "2");
  EXPECT_EQ(env["TEST_TARGET"], "//pkg:t");
  EXPECT_EQ(env["TEST_WORKSPACE"], "ws");
  EXPECT_EQ(env["TEST_SRCDIR"], bin + "/pkg/t.runfiles");
  EXPECT_EQ(env["TEST_SIZE"], "small");
  EXPECT_EQ(env["TEST_TIMEOUT"], "60");
  EXPECT_EQ(env["FROM_TARGET"], "yes");
  EXPECT_EQ(env["FROM_FLAG"], "1");
  EXPECT_EQ(env["PATH"], "/bin:/usr/bin:/usr/local/bin");
  EXPECT_EQ(env.count("TEST_TMPDIR"), 1u);
  // Each run its own TEST_TMPDIR.
  EXPECT_NE(EnvOf(ReadFileOrEmpty(by_run[1].test_log))["TEST_TMPDIR"], env["TEST_TMPDIR"]);
  // Run 2 wrote no XML: it gets Bazel's fallback, which the parser knows.
  absl::StatusOr<results::JUnitReport> fallback =
      results::ParseJUnitXml(ReadFileOrEmpty(by_run[2].test_xml), by_run[2].test_xml);
  ASSERT_THAT(fallback, IsOk());
  EXPECT_TRUE(fallback->bazel_fallback);
  EXPECT_THAT(ReadFileOrEmpty(by_run[2].test_xml), HasSubstr("exited with error code 7"));
  // Run 3 wrote its own, which is kept.
  EXPECT_THAT(ReadFileOrEmpty(by_run[3].test_xml), HasSubstr("Own"));
}

TEST(RunDirectRound, KillsARunPastItsTimeoutAndStopsWhenAsked) {
  const std::string bin = FakeBazelBin("slow", "sleep 600\n");
  std::vector<DirectTest> tests = *ParseDirectTests(kQuery, bin, "ws");
  tests[0].timeout = absl::Milliseconds(300);
  DirectRoundOptions options;
  options.tests = tests;
  options.runs = 2;
  options.jobs = 2;
  options.work_dir = Tmp("slow/work");
  PosixLauncher launcher;
  RealClock clock;
  std::atomic<bool> stop{false};
  std::vector<std::string> statuses;
  absl::StatusOr<bool> interrupted = RunDirectRound(
      options, launcher, clock, stop, nullptr, absl::Seconds(5),
      [&](const results::BepTestResult& r) {
        statuses.push_back(r.status);
        return absl::OkStatus();
      });
  ASSERT_THAT(interrupted, IsOk());
  EXPECT_THAT(statuses, ElementsAre("TIMEOUT", "TIMEOUT"));

  // A stop request ends the round: running ones stopped, none reported.
  tests[0].timeout = absl::Seconds(600);
  options.tests = tests;
  stop.store(true);
  statuses.clear();
  interrupted = RunDirectRound(options, launcher, clock, stop, nullptr, absl::Seconds(5),
                               [&](const results::BepTestResult& r) {
                                 statuses.push_back(r.status);
                                 return absl::OkStatus();
                               });
  ASSERT_THAT(interrupted, IsOk());
  EXPECT_TRUE(*interrupted);
  EXPECT_TRUE(statuses.empty());
}

}  // namespace
}  // namespace flaky::runner
