// The kills of chaos_ops_test with real, nested Bazel: `flaky hunt` of
// //tests/chaos_ops:slow_fixture_test under cgroup:20 (none where cgroups
// cannot be written), SIGKILLed at seeded points. Bazel's client gets
// SIGINT when flaky dies and cancels the command; what is asserted is
// what a user sees 5 s later: no Bazel client, test runner, wrapper or
// test of the hunt alive (the Bazel server stays, by Bazel's design), no
// cgroup of it, and after the next `flaky report` no hunt left `running`
// and every run Bazel finished stored. Then two cgroup hunts on one store
// at once (one Bazel server: their rounds take turns) both complete.
//
// Manual (ci/test runs it once): nested Bazel needs the real file system
// and its own output root, $FLAKY_E2E_OUTPUT_USER_ROOT (a cache directory
// that makes reruns fast) or a fresh one under TEST_TMPDIR (cold: the
// fixture and the starve wrapper are built once).
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "base/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/chaos_ops/harness.h"

namespace flaky::chaos_ops {
namespace {

using ::flaky::testing::IsOk;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kFixture[] = "//tests/chaos_ops:slow_fixture_test";

class ChaosOpsBazelTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    bazel_ = new NestedBazel{
        .checkout = CheckoutOf(Runfile("tests/chaos_ops/BUILD.bazel"),
                               "tests/chaos_ops/BUILD.bazel"),
        .output_user_root = Env("FLAKY_E2E_OUTPUT_USER_ROOT").empty()
                                ? Env("TEST_TMPDIR") + "/bazel_root"
                                : Env("FLAKY_E2E_OUTPUT_USER_ROOT")};
  }

  static void TearDownTestSuite() {
    if (!bazel_->checkout.empty()) (void)bazel_->Shutdown();
    delete bazel_;
  }

  void SetUp() override {
    ASSERT_FALSE(bazel_->checkout.empty()) << "cannot find the flaky checkout";
    mount_ = WritableCpuMount();
    if (mount_.empty()) std::cerr << "cgroups are not writable here: hunting under none\n";
  }

  std::string Profile() const {
    return mount_.empty() ? "--profiles=none" : "--profiles=cgroup:20";
  }

  std::vector<std::string> HuntArgs(std::vector<std::string> args) const {
    args.push_back(Profile());
    for (const std::string& flag : bazel_->HuntFlags()) args.push_back(flag);
    return args;
  }

  static NestedBazel* bazel_;
  std::string mount_;
  const std::string store_ = Env("TEST_TMPDIR") + "/flaky.db";
  const std::string flaky_ = Runfile("flaky/flaky");
};

NestedBazel* ChaosOpsBazelTest::bazel_ = nullptr;

TEST_F(ChaosOpsBazelTest, SigkillLeavesNoBazelClientOrTestAliveAndLosesNoRun) {
  // Build first, so the kill points fall among runs, not in a cold build.
  Spawn build{.argv = {"/usr/bin/bazel"},
              .env = {},
              .cwd = bazel_->checkout,
              .out_path = Env("TEST_TMPDIR") + "/build.out",
              .err_path = Env("TEST_TMPDIR") + "/build.err"};
  for (const std::string& flag : bazel_->StartupFlags()) build.argv.push_back(flag);
  build.argv.insert(build.argv.end(), {"build", "--symlink_prefix=/", kFixture,
                                       "//flaky/starve:starve"});
  absl::StatusOr<Ended> built = RunProcess(build, absl::Minutes(50));
  ASSERT_THAT(built, IsOk());
  ASSERT_EQ(built->exit_code, 0) << *built;

  // One round of 40 runs, one at a time (300 ms each), killed among its
  // first 10: a Bazel that outlived its flaky would run 9 s more, so
  // anything alive 5 s after the kill would be seen.
  const std::vector<int> points = KillPoints(/*seed=*/20261202, /*count=*/3, /*total_runs=*/10);
  for (size_t i = 0; i < points.size(); ++i) {
    const std::string id = absl::StrCat("bazel-kill-", i, "-", getpid());
    SCOPED_TRACE(absl::StrCat(id, ": SIGKILL after ", points[i], " runs"));
    KillScenario scenario;
    scenario.flaky = flaky_;
    scenario.workspace = bazel_->checkout;
    scenario.store = store_;
    scenario.hunt_id = id;
    scenario.hunt_args = HuntArgs({kFixture, "--runs=40"});
    scenario.hunt_args.push_back("--local_test_jobs=1");
    scenario.kill_after_runs = points[i];
    // The client (its build-event file), the wrapper (its cgroup parent),
    // the test runner and the test (the fixture's name).
    scenario.markers = {store_ + ".hunts/" + id + "/", "hunt-" + id + "@", "slow_fixture_test"};
    scenario.cgroup_mount = mount_;
    absl::StatusOr<KillResult> result = KillAndSettle(scenario);
    ASSERT_THAT(result, IsOk());
    EXPECT_THAT(result->orphans, IsEmpty()) << "alive 5 s after the kill";
    EXPECT_THAT(result->leaked_cgroups, IsEmpty());
    EXPECT_EQ(result->hunts_running, 0);
    EXPECT_EQ(result->status, absl::StrCat("abandoned: its process ", result->flaky_pid, " died"));
    EXPECT_GE(result->runs_finished, points[i]);
    EXPECT_EQ(result->runs_stored, result->runs_finished) << result->next;
    std::cerr << id << ": killed after " << result->runs_at_kill << " runs with "
              << result->processes_at_kill << " processes of the hunt alive; all gone after "
              << absl::FormatDuration(result->orphans_gone_after) << "; " << result->runs_stored
              << " of " << result->runs_finished << " finished runs stored\n";
  }
}

TEST_F(ChaosOpsBazelTest, TwoConcurrentCgroupHuntsOnOneStoreBothComplete) {
  const std::string tmp = Env("TEST_TMPDIR");
  std::vector<Spawn> hunts;
  std::vector<pid_t> pids;
  for (const char* name : {"a", "b"}) {
    const std::string id = absl::StrCat("together-", name, "-", getpid());
    Spawn hunt{.argv = {flaky_, "hunt", "--store=" + store_, "--hunt_id=" + id},
               .env = {},
               .cwd = bazel_->checkout,
               .out_path = tmp + "/" + id + ".out",
               .err_path = tmp + "/" + id + ".err"};
    for (const std::string& arg : HuntArgs({kFixture, "--runs=6", "--round_runs=2"})) {
      hunt.argv.push_back(arg);
    }
    absl::StatusOr<pid_t> pid = StartProcess(hunt);
    ASSERT_THAT(pid, IsOk());
    hunts.push_back(hunt);
    pids.push_back(*pid);
  }
  for (size_t i = 0; i < hunts.size(); ++i) {
    absl::StatusOr<Ended> ended = WaitProcess(pids[i], hunts[i], absl::Minutes(20));
    ASSERT_THAT(ended, IsOk());
    EXPECT_EQ(ended->exit_code, 0) << *ended;
    EXPECT_THAT(ended->out, HasSubstr("done: 6 runs"));
  }
  if (!mount_.empty()) {
    EXPECT_THAT(HuntCgroups(mount_, "together-"), IsEmpty());
  }
}

}  // namespace
}  // namespace flaky::chaos_ops
