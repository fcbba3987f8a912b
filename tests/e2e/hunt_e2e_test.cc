// End-to-end tests of `flaky hunt` with real, nested Bazel: it hunts the
// deliberately flaky fixture in this workspace, and a test of a second
// workspace that loads this one as @flaky through local_repository (where
// the wrapper is @flaky//flaky/starve:starve), then checks the
// exact counts in the SQLite store against the fixture's known schedule.
//
// Nested Bazel needs a real file system and its own output root: the
// target is tagged no-sandbox and exclusive, and the output root is
// $FLAKY_E2E_OUTPUT_USER_ROOT (a cache directory that makes reruns fast)
// or, by default, a fresh one under TEST_TMPDIR (cold: minutes).
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/status_matchers.h"
#include "flaky/results/store.h"
#include "flaky/results/summary.h"
#include "flaky/runner/launcher.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/fixture_schedule.h"

namespace flaky::e2e {
namespace {

using ::flaky::testing::IsOk;
using ::testing::HasSubstr;

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

std::string Runfile(const std::string& path) {
  return absl::StrCat(Env("TEST_SRCDIR"), "/", Env("TEST_WORKSPACE"), "/",
                      path);
}

// FlakyCheckout is the real directory of this workspace: the runfiles tree
// links to its files, and the test runs unsandboxed.
std::string FlakyCheckout() {
  char resolved[PATH_MAX];
  if (realpath(Runfile("tests/e2e/BUILD.bazel").c_str(), resolved) == nullptr) {
    return "";
  }
  std::string path = resolved;
  return path.substr(0, path.size() - std::string("/tests/e2e/BUILD.bazel").size());
}

std::string OutputUserRoot() {
  std::string root = Env("FLAKY_E2E_OUTPUT_USER_ROOT");
  return root.empty() ? Env("TEST_TMPDIR") + "/bazel_root" : root;
}

// Startup flags for every nested Bazel: its own output root, and a server
// that does not outlive the test for long even if shutdown is skipped.
std::vector<std::string> StartupFlags() {
  return {"--output_user_root=" + OutputUserRoot(), "--max_idle_secs=60"};
}

runner::CommandResult RunOrDie(const runner::Command& command) {
  runner::PosixLauncher launcher;
  absl::StatusOr<runner::CommandResult> result = launcher.Run(command);
  EXPECT_THAT(result, IsOk());
  return result.ok() ? *result : runner::CommandResult{};
}

void ShutDownBazel(const std::string& workspace) {
  std::vector<std::string> argv = {"bazel"};
  for (const std::string& flag : StartupFlags()) argv.push_back(flag);
  argv.push_back("shutdown");
  RunOrDie({.argv = argv, .working_dir = workspace});
}

const results::CaseSummary* FindCase(
    const std::vector<results::CaseSummary>& cases,
    const std::string& test_case, const std::string& profile) {
  for (const results::CaseSummary& summary : cases) {
    if (summary.test_case == test_case && summary.profile == profile) {
      return &summary;
    }
  }
  return nullptr;
}

TEST(HuntE2e, HuntsTheFixtureAndStoresExactCounts) {
  const std::string checkout = FlakyCheckout();
  ASSERT_FALSE(checkout.empty()) << "cannot find the flaky checkout";
  const std::string store = Env("TEST_TMPDIR") + "/fixture.db";
  constexpr int kRuns = 20;
  std::vector<std::string> argv = {
      Runfile("flaky/flaky"), "hunt", "//tests/e2e:flaky_fixture_test",
      "--profiles=none,hogs:1", absl::StrCat("--runs=", kRuns),
      "--store=" + store, "--hunt_id=e2e",
      // Every trial reaches the metrics too (tests/metrics has the live
      // endpoint and the Pushgateway; here Bazel is real).
      "--textfile=" + Env("TEST_TMPDIR") + "/fixture.prom",
      "--bazel_startup_flags=" + absl::StrJoin(StartupFlags(), " "), "--",
      // The checkout is shared: no bazel-* links in it.
      "--symlink_prefix=/"};
  runner::CommandResult hunt =
      RunOrDie({.argv = argv, .working_dir = checkout});
  ShutDownBazel(checkout);
  ASSERT_TRUE(hunt.status.Exited(0))
      << hunt.status.ToString() << "\n" << hunt.stderr_text;
  EXPECT_THAT(hunt.stdout_text, HasSubstr("flaky: hunt e2e done: 40 runs"));

  absl::StatusOr<std::unique_ptr<results::Store>> opened =
      results::Store::Open(store);
  ASSERT_THAT(opened, IsOk());
  results::Store& db = **opened;
  absl::StatusOr<std::vector<results::HuntRecord>> hunts = db.ListHunts();
  ASSERT_THAT(hunts, IsOk());
  ASSERT_EQ(hunts->size(), 1u);
  EXPECT_EQ((*hunts)[0].status, "done");
  EXPECT_EQ((*hunts)[0].mode, "bazel_runs");
  EXPECT_EQ((*hunts)[0].trials, 3 * 2 * kRuns);

  absl::StatusOr<std::vector<results::CaseSummary>> cases =
      db.Summarize({.hunt_ids = {"e2e"}, .targets = {}, .profiles = {}});
  ASSERT_THAT(cases, IsOk());
  // Bazel numbers runs 1..20 in each profile's invocation and the fixture
  // fails exactly on the schedule's runs, so the counts are exact.
  const int expected = ExpectedFailures("e2e", kRuns, 0.3);
  for (const std::string profile : {"none", "hogs:1"}) {
    SCOPED_TRACE(profile);
    const results::CaseSummary* flaky =
        FindCase(*cases, "Fixture.FailsOnSchedule", profile);
    ASSERT_NE(flaky, nullptr);
    EXPECT_EQ(flaky->trials, kRuns);
    EXPECT_EQ(flaky->failures, expected);
    ASSERT_EQ(flaky->signatures.size(), 1u);
    EXPECT_EQ(flaky->signatures[0].count, expected);
    EXPECT_THAT(ReadFile(flaky->signatures[0].first_log_path),
                HasSubstr("scheduled failure in run"));
    const results::CaseSummary* passing =
        FindCase(*cases, "Fixture.AlwaysPasses", profile);
    ASSERT_NE(passing, nullptr);
    EXPECT_EQ(passing->trials, kRuns);
    EXPECT_EQ(passing->failures, 0);
    const results::CaseSummary* skipped =
        FindCase(*cases, "Fixture.IsSkipped", profile);
    ASSERT_NE(skipped, nullptr);
    EXPECT_EQ(skipped->by_outcome.at(results::Outcome::kSkipped), kRuns);
  }
  // The duration histogram observed every trial of each profile: three
  // cases per run (the skipped one too).
  const std::string metrics = ReadFile(Env("TEST_TMPDIR") + "/fixture.prom");
  for (const std::string profile : {"none", "hogs:1"}) {
    EXPECT_THAT(metrics, HasSubstr(absl::StrCat(
                             "flaky_trial_duration_seconds_count{profile=\"", profile,
                             "\",target=\"//tests/e2e:flaky_fixture_test\"} ", 3 * kRuns)));
  }
  // Every trial carries the wrapper's record of what it applied.
  absl::StatusOr<std::vector<results::Trial>> hogs = db.ListTrials(
      {.hunt_ids = {"e2e"}, .targets = {}, .profiles = {"hogs:1"}});
  ASSERT_THAT(hogs, IsOk());
  ASSERT_EQ(hogs->size(), 3u * kRuns);
  for (const results::Trial& trial : *hogs) {
    EXPECT_THAT(trial.applied, HasSubstr("\"hogs\":1"));
  }
}

// --mode=direct: Bazel builds, flaky runs the fixture's binary itself. The
// fixture fails on TEST_RANDOM_SEED's schedule, which direct runs number
// as Bazel does, so the counts are the same exact ones; a --test_env after
// `--` reaches the test as under bazel test.
TEST(HuntE2e, HuntsTheFixtureDirectlyWithTheSameCounts) {
  const std::string checkout = FlakyCheckout();
  ASSERT_FALSE(checkout.empty()) << "cannot find the flaky checkout";
  const std::string store = Env("TEST_TMPDIR") + "/direct.db";
  constexpr int kRuns = 20;
  runner::CommandResult hunt = RunOrDie(
      {.argv = {Runfile("flaky/flaky"), "hunt", "//tests/e2e:flaky_fixture_test",
                "--mode=direct", "--jobs=2", "--profiles=none,chaos:1",
                absl::StrCat("--runs=", kRuns), "--store=" + store, "--hunt_id=direct",
                "--bazel_startup_flags=" + absl::StrJoin(StartupFlags(), " "), "--",
                "--symlink_prefix=/", "--test_env=FLAKY_FIXTURE_SALT=direct"},
       .working_dir = checkout});
  ShutDownBazel(checkout);
  ASSERT_TRUE(hunt.status.Exited(0)) << hunt.status.ToString() << "\n" << hunt.stderr_text;
  EXPECT_THAT(hunt.stderr_text, HasSubstr("running the test binaries directly"));
  absl::StatusOr<std::unique_ptr<results::Store>> opened = results::Store::Open(store);
  ASSERT_THAT(opened, IsOk());
  absl::StatusOr<std::vector<results::HuntRecord>> hunts = (*opened)->ListHunts();
  ASSERT_THAT(hunts, IsOk());
  ASSERT_EQ(hunts->size(), 1u);
  EXPECT_EQ((*hunts)[0].mode, "direct_runs");
  absl::StatusOr<std::vector<results::CaseSummary>> cases =
      (*opened)->Summarize({.hunt_ids = {"direct"}, .targets = {}, .profiles = {}});
  ASSERT_THAT(cases, IsOk());
  const int expected = ExpectedFailures("direct", kRuns, 0.3);
  for (const std::string profile : {"none", "chaos:1"}) {
    SCOPED_TRACE(profile);
    const results::CaseSummary* flaky = FindCase(*cases, "Fixture.FailsOnSchedule", profile);
    ASSERT_NE(flaky, nullptr);
    EXPECT_EQ(flaky->trials, kRuns);
    EXPECT_EQ(flaky->failures, expected);
    const results::CaseSummary* skipped = FindCase(*cases, "Fixture.IsSkipped", profile);
    ASSERT_NE(skipped, nullptr);
    EXPECT_EQ(skipped->by_outcome.at(results::Outcome::kSkipped), kRuns);
  }
}

TEST(HuntE2e, HuntsInAWorkspaceThatLoadsFlakyAsAnExternalRepository) {
  const std::string checkout = FlakyCheckout();
  ASSERT_FALSE(checkout.empty()) << "cannot find the flaky checkout";
  const std::string consumer = Env("TEST_TMPDIR") + "/consumer";
  ASSERT_EQ(RunOrDie({.argv = {"mkdir", "-p", consumer}}).status.code, 0);
  WriteFile(consumer + "/WORKSPACE",
            absl::StrReplaceAll(
                ReadFile(Runfile("tests/e2e/consumer/WORKSPACE.in")),
                {{"@FLAKY_PATH@", checkout}}));
  WriteFile(consumer + "/BUILD.bazel",
            ReadFile(Runfile("tests/e2e/consumer/BUILD.in")));
  WriteFile(consumer + "/.bazelrc",
            ReadFile(Runfile("tests/e2e/consumer/bazelrc.in")));
  WriteFile(consumer + "/consumer_test.cc",
            ReadFile(Runfile("tests/e2e/consumer/consumer_test.cc")));

  const std::string store = Env("TEST_TMPDIR") + "/consumer.db";
  constexpr int kRuns = 10;
  // The installed binary, built in flaky's own workspace: `auto` first
  // tries //flaky/starve:starve, which this workspace lacks, and must find
  // @flaky//flaky/starve:starve. (`bazel run @flaky//flaky -- hunt` works
  // too, but would compile all of flaky in a cold nested Bazel.)
  std::vector<std::string> argv = {
      Runfile("flaky/flaky"), "hunt", "//:consumer_test", "--profiles=hogs:1",
      absl::StrCat("--runs=", kRuns), "--store=" + store, "--hunt_id=consumer",
      "--bazel_startup_flags=" + absl::StrJoin(StartupFlags(), " ")};
  runner::CommandResult hunt =
      RunOrDie({.argv = argv, .working_dir = consumer});
  ShutDownBazel(consumer);
  ASSERT_TRUE(hunt.status.Exited(0))
      << hunt.status.ToString() << "\n" << hunt.stderr_text;

  absl::StatusOr<std::unique_ptr<results::Store>> opened =
      results::Store::Open(store);
  ASSERT_THAT(opened, IsOk());
  absl::StatusOr<std::vector<results::CaseSummary>> cases = (*opened)->Summarize(
      {.hunt_ids = {"consumer"}, .targets = {}, .profiles = {}});
  ASSERT_THAT(cases, IsOk());
  const results::CaseSummary* flaky =
      FindCase(*cases, "Consumer.FailsOnSchedule", "hogs:1");
  ASSERT_NE(flaky, nullptr);
  EXPECT_EQ(flaky->target, "//:consumer_test");
  EXPECT_EQ(flaky->trials, kRuns);
  EXPECT_EQ(flaky->failures, ExpectedFailures("consumer", kRuns, 0.5));
  // The wrapper ran as @flaky//flaky/starve:starve: its record is there.
  absl::StatusOr<std::vector<results::Trial>> trials = (*opened)->ListTrials(
      {.hunt_ids = {"consumer"}, .targets = {}, .profiles = {}});
  ASSERT_THAT(trials, IsOk());
  ASSERT_EQ(trials->size(), static_cast<size_t>(kRuns));
  EXPECT_THAT((*trials)[0].applied, HasSubstr("\"hogs\":1"));
}

// `flaky gate` exits with the verdict. The fixture's schedule is fixed, so
// each verdict is certain: with failure probability 0 the 20 clean runs
// bound the rate below 13.9% (< 20%): CLEAN; at 0.3 the schedule fails
// ExpectedFailures("e2e", 20, 0.3) runs, far above 1%: FLAKY, and its
// interval straddles 30%: INCONCLUSIVE. The skipped case must not matter.
TEST(HuntE2e, GateExitsWithTheVerdict) {
  const std::string checkout = FlakyCheckout();
  ASSERT_FALSE(checkout.empty()) << "cannot find the flaky checkout";
  const int failures = ExpectedFailures("e2e", 20, 0.3);
  ASSERT_GE(failures, 4) << "the schedule changed; pick other bounds";
  ASSERT_LE(failures, 9) << "the schedule changed; pick other bounds";
  struct Case {
    std::string probability;
    std::string max_rate;
    int exit_code;
    std::string verdict;
  };
  for (const Case& c : {Case{"0", "0.2", 0, "Gate: CLEAN"},
                        Case{"0.3", "0.01", 1, "Gate: FLAKY"},
                        Case{"0.3", "0.3", 2, "Gate: INCONCLUSIVE"}}) {
    SCOPED_TRACE(c.verdict);
    const std::string dir = Env("TEST_TMPDIR") + "/gate-" + c.max_rate;
    std::vector<std::string> argv = {
        Runfile("flaky/flaky"), "gate", "//tests/e2e:flaky_fixture_test",
        "--runs=20", "--max_rate=" + c.max_rate, "--store=" + dir + ".db",
        "--report_dir=" + dir,
        "--bazel_startup_flags=" + absl::StrJoin(StartupFlags(), " "), "--",
        "--symlink_prefix=/",
        "--test_env=FLAKY_FIXTURE_PROBABILITY=" + c.probability};
    runner::CommandResult gate =
        RunOrDie({.argv = argv, .working_dir = checkout});
    EXPECT_TRUE(gate.status.Exited(c.exit_code))
        << gate.status.ToString() << "\n" << gate.stdout_text << "\n"
        << gate.stderr_text;
    EXPECT_THAT(gate.stdout_text, HasSubstr(c.verdict));
    EXPECT_THAT(ReadFile(dir + "/report.md"), HasSubstr("flaky_fixture_test"));
  }
  // --until_decided stops on the same rule: a clean fixture is CLEAN at
  // 0.2% after 16 runs (anytime.h), so rounds of 10 stop after 20 of the
  // allowed 100 and the gate passes.
  {
    const std::string dir = Env("TEST_TMPDIR") + "/gate-until-decided";
    runner::CommandResult gate = RunOrDie(
        {.argv = {Runfile("flaky/flaky"), "gate", "//tests/e2e:flaky_fixture_test",
                  "--until_decided", "--runs=100", "--round_runs=10", "--max_rate=0.2",
                  "--store=" + dir + ".db",
                  "--bazel_startup_flags=" + absl::StrJoin(StartupFlags(), " "), "--",
                  "--symlink_prefix=/", "--test_env=FLAKY_FIXTURE_PROBABILITY=0"},
         .working_dir = checkout});
    EXPECT_TRUE(gate.status.Exited(0))
        << gate.status.ToString() << "\n" << gate.stdout_text << "\n" << gate.stderr_text;
    EXPECT_THAT(gate.stdout_text, HasSubstr("Gate: CLEAN"));
    EXPECT_THAT(gate.stdout_text, HasSubstr(": 20 runs, 0 failed"));
  }
  // Usage errors are 3, so a merge gate never mistakes them for a verdict.
  runner::CommandResult usage = RunOrDie(
      {.argv = {Runfile("flaky/flaky"), "gate"}, .working_dir = checkout});
  EXPECT_TRUE(usage.status.Exited(3)) << usage.status.ToString();
  EXPECT_THAT(usage.stderr_text, HasSubstr("no targets"));
  // A target real Bazel does not know is a usage error of each command:
  // 3 for the gate (never a verdict), 2 for a hunt.
  for (const auto& [command, exit_code] :
       {std::pair<std::string, int>{"gate", 3}, {"hunt", 2}}) {
    runner::CommandResult bad_target = RunOrDie(
        {.argv = {Runfile("flaky/flaky"), command, "//tests/e2e:no_such_test",
                  "--runs=2", "--store=" + Env("TEST_TMPDIR") + "/bad-target.db",
                  "--bazel_startup_flags=" + absl::StrJoin(StartupFlags(), " ")},
         .working_dir = checkout});
    EXPECT_TRUE(bad_target.status.Exited(exit_code))
        << command << ": " << bad_target.status.ToString() << "\n"
        << bad_target.stderr_text;
    EXPECT_THAT(bad_target.stderr_text, HasSubstr("bad targets"));
    EXPECT_THAT(bad_target.stderr_text, HasSubstr("no_such_test"));
  }
  ShutDownBazel(checkout);
}

}  // namespace
}  // namespace flaky::e2e
