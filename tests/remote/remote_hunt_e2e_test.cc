// End-to-end tests of flaky through Bazel remote execution, against a real
// REAPI server: Bazel's own remote worker, built offline from Debian's
// sources and started on a loopback port by ci/remote/worker. Each worker
// runs in its own UTS namespace with its own host name, so a run's record
// (the wrapper's `flaky-starve: applied` line, which comes back in test.log)
// shows that it ran on the worker and not in the hunting Bazel.
//
// Nested Bazel needs the real checkout and its own output root, like
// tests/e2e/hunt_e2e_test.cc: the target is tagged no-sandbox and
// exclusive. Caches, both optional: $FLAKY_E2E_OUTPUT_USER_ROOT (the nested
// Bazel's output root) and $FLAKY_REMOTE_CACHE_DIR (the worker's jar and a
// CAS shared by the tests' workers, so build actions hit; test actions
// never do). Cold, the workers compile the race test and the wrapper.
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/status_matchers.h"
#include "flaky/results/bep.h"
#include "flaky/results/store.h"
#include "flaky/runner/launcher.h"
#include "flaky/starve/record.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::remote {
namespace {

using ::flaky::testing::IsOk;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kOriginal[] = "//tests/race:already_running_original";
constexpr char kFixed[] = "//tests/race:already_running_fixed";
constexpr char kChaos[] = "chaos:1,p=50,ms=5-20";

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

std::string Runfile(const std::string& path) {
  return absl::StrCat(Env("TEST_SRCDIR"), "/", Env("TEST_WORKSPACE"), "/",
                      path);
}

std::string RealPath(const std::string& path) {
  char resolved[PATH_MAX];
  return realpath(path.c_str(), resolved) == nullptr ? "" : resolved;
}

// Checkout is the real directory of this workspace (the runfiles link to
// its files; the test runs unsandboxed).
std::string Checkout() {
  std::string build = RealPath(Runfile("tests/remote/BUILD.bazel"));
  return build.empty() ? ""
                       : build.substr(0, build.size() -
                                             std::string("/tests/remote/BUILD.bazel").size());
}

std::string TmpDir() { return Env("TEST_TMPDIR"); }

std::string CacheDir() {
  std::string dir = Env("FLAKY_REMOTE_CACHE_DIR");
  return dir.empty() ? TmpDir() + "/remote-cache" : dir;
}

std::vector<std::string> StartupFlags() {
  std::string root = Env("FLAKY_E2E_OUTPUT_USER_ROOT");
  if (root.empty()) root = TmpDir() + "/bazel_root";
  return {"--output_user_root=" + root, "--max_idle_secs=60"};
}

runner::CommandResult RunOrDie(const runner::Command& command) {
  runner::PosixLauncher launcher;
  absl::StatusOr<runner::CommandResult> result = launcher.Run(command);
  EXPECT_THAT(result, IsOk());
  return result.ok() ? *result : runner::CommandResult{};
}

// Worker is one remote worker started by ci/remote/worker, stopped (with
// every action it runs) when the object goes.
class Worker {
 public:
  Worker(std::string name, std::vector<std::string> flags = {})
      : dir_(TmpDir() + "/" + name) {
    std::vector<std::string> argv = {
        "env", "FLAKY_REMOTE_CACHE_DIR=" + CacheDir(),
        Runfile("ci/remote/worker"), "start", dir_, "--hostname=" + name,
        "--cas_dir=" + CacheDir() + "/cas"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    runner::CommandResult started = RunOrDie({.argv = argv});
    EXPECT_TRUE(started.status.Exited(0))
        << started.status.ToString() << "\n" << started.stderr_text;
    port_ = std::string(absl::StripAsciiWhitespace(started.stdout_text));
  }
  ~Worker() { Stop(); }

  // Stop ends the worker and checks that nothing of it is left.
  void Stop() {
    if (stopped_) return;
    stopped_ = true;
    const std::string pid = ReadFile(dir_ + "/pid");
    runner::CommandResult stopped =
        RunOrDie({.argv = {Runfile("ci/remote/worker"), "stop", dir_}});
    EXPECT_TRUE(stopped.status.Exited(0)) << stopped.stderr_text;
    int group = 0;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(pid), &group) && group > 0) {
      EXPECT_NE(kill(-group, 0), 0) << "processes of worker group " << group
                                    << " outlived `worker stop`";
    }
  }

  const std::string& port() const { return port_; }
  std::string executor() const { return "grpc://127.0.0.1:" + port_; }

 private:
  std::string dir_;
  std::string port_;
  bool stopped_ = false;
};

// FlakyArgv is `flaky COMMAND ARGS -- --config=remote --remote_executor=E`.
std::vector<std::string> FlakyArgv(const std::string& command,
                                   std::vector<std::string> args,
                                   const std::string& executor) {
  std::vector<std::string> argv = {Runfile("flaky/flaky"), command};
  argv.insert(argv.end(), args.begin(), args.end());
  for (const std::string& flag :
       {"--bazel_startup_flags=" + absl::StrJoin(StartupFlags(), " "),
        std::string("--"), std::string("--config=remote"),
        "--remote_executor=" + executor,
        // The checkout is shared: no bazel-* links in it.
        std::string("--symlink_prefix=/")}) {
    argv.push_back(flag);
  }
  return argv;
}

void ShutDownBazel() {
  std::vector<std::string> argv = {"bazel"};
  for (const std::string& flag : StartupFlags()) argv.push_back(flag);
  argv.push_back("shutdown");
  RunOrDie({.argv = argv, .working_dir = Checkout()});
}

std::unique_ptr<results::Store> OpenStore(const std::string& path) {
  absl::StatusOr<std::unique_ptr<results::Store>> store =
      results::Store::Open(path);
  EXPECT_THAT(store, IsOk());
  return store.ok() ? std::move(*store) : nullptr;
}

// Strategies counts the executionInfo.strategy of every run of the hunt's
// rounds (their BEP files stay in STORE.hunts/ID/).
std::multiset<std::string> Strategies(const std::string& store,
                                      const std::string& hunt_id) {
  std::multiset<std::string> strategies;
  for (int round = 1;; ++round) {
    absl::StatusOr<results::BepEvents> events = results::ReadBepFile(
        absl::StrCat(store, ".hunts/", hunt_id, "/round", round, ".bep.json"));
    if (!events.ok()) break;
    for (const results::BepTestResult& run : events->test_results) {
      strategies.insert(run.strategy);
    }
  }
  return strategies;
}

class RemoteE2e : public ::testing::Test {
 protected:
  static void TearDownTestSuite() { ShutDownBazel(); }

  void SetUp() override {
    ASSERT_FALSE(Checkout().empty()) << "cannot find the flaky checkout";
  }
};

// The claim, run for real: an original race test, hunted under
// chaos on the worker until FLAKY, every trial recorded as on the worker.
TEST_F(RemoteE2e, HuntsTheOriginalRaceOnTheWorkerUntilFlaky) {
  Worker worker("flaky-remote-e2e");
  ASSERT_FALSE(worker.port().empty());
  const std::string store = TmpDir() + "/remote.db";
  runner::CommandResult gate = RunOrDie(
      {.argv = FlakyArgv("gate",
                         {kOriginal, absl::StrCat("--profiles=", kChaos),
                          "--until_decided", "--runs=400", "--store=" + store,
                          "--hunt_id=remote", "--report_dir=" + TmpDir() + "/report"},
                         worker.executor()),
       .working_dir = Checkout()});
  ASSERT_TRUE(gate.status.Exited(1))
      << gate.status.ToString() << "\n" << gate.stdout_text << "\n"
      << gate.stderr_text;
  EXPECT_THAT(gate.stdout_text, HasSubstr("Gate: FLAKY"));

  std::unique_ptr<results::Store> db = OpenStore(store);
  ASSERT_NE(db, nullptr);
  absl::StatusOr<std::vector<results::HuntRecord>> hunts = db->ListHunts();
  ASSERT_THAT(hunts, IsOk());
  ASSERT_EQ(hunts->size(), 1u);
  EXPECT_EQ((*hunts)[0].status, "done");
  absl::StatusOr<std::vector<results::Trial>> trials =
      db->ListTrials({.hunt_ids = {"remote"}, .targets = {}, .profiles = {}});
  ASSERT_THAT(trials, IsOk());
  ASSERT_FALSE(trials->empty());
  std::set<uint64_t> seeds;
  int failures = 0;
  for (const results::Trial& trial : *trials) {
    SCOPED_TRACE(absl::StrCat("run ", trial.run));
    EXPECT_EQ(trial.test_case, "AlreadyRunning.Original");
    // Where the run ran, from the record in its test.log.
    EXPECT_EQ(trial.host, "flaky-remote-e2e");
    absl::StatusOr<starve::AppliedRecord> record =
        starve::ParseAppliedRecord(trial.applied);
    ASSERT_THAT(record, IsOk()) << trial.applied;
    EXPECT_EQ(record->host, "flaky-remote-e2e");
    ASSERT_TRUE(record->chaos.has_value()) << "the chaos shim ran on the worker";
    EXPECT_EQ(trial.seed, std::optional<uint64_t>(record->chaos->seed));
    seeds.insert(record->chaos->seed);
    if (trial.outcome == results::Outcome::kFail) {
      ++failures;
      // The test's own failure, read from the test.xml that came back.
      EXPECT_THAT(trial.failure_message, HasSubstr("RuntimeError not raised"));
    }
  }
  EXPECT_GE(failures, 2);
  // One trial per run, each run with its own seed (rounds continue the
  // seeds where the last one stopped).
  EXPECT_EQ(seeds.size(), trials->size());
  // The test.log came back to this machine with the record in it.
  EXPECT_THAT(ReadFile(trials->back().log_path),
              AllOf(HasSubstr(starve::kRecordTag),
                    HasSubstr("\"host\":\"flaky-remote-e2e\"")));
  // Every run executed on the worker: none ran locally or came from a cache.
  const std::multiset<std::string> strategies = Strategies(store, "remote");
  EXPECT_EQ(strategies.count("remote"), trials->size());
  EXPECT_EQ(strategies.size(), trials->size());

  // A rerun asks for the same run numbers (and the same chaos seeds) again:
  // still executed, not served from the worker's cache.
  runner::CommandResult rerun = RunOrDie(
      {.argv = FlakyArgv("hunt",
                         {kOriginal, absl::StrCat("--profiles=", kChaos),
                          "--runs=10", "--store=" + store, "--hunt_id=rerun"},
                         worker.executor()),
       .working_dir = Checkout()});
  ASSERT_TRUE(rerun.status.Exited(0)) << rerun.stderr_text;
  const std::multiset<std::string> rerun_strategies = Strategies(store, "rerun");
  EXPECT_EQ(rerun_strategies.size(), 10u);
  EXPECT_EQ(rerun_strategies.count("remote"), 10u);
  absl::StatusOr<std::vector<results::Trial>> rerun_trials =
      db->ListTrials({.hunt_ids = {"rerun"}, .targets = {}, .profiles = {}});
  ASSERT_THAT(rerun_trials, IsOk());
  ASSERT_EQ(rerun_trials->size(), 10u);
  for (const results::Trial& trial : *rerun_trials) {
    EXPECT_EQ(trial.host, "flaky-remote-e2e");
  }
}

// A worker without a writable cgroup hierarchy cannot apply cgroup:20: the
// hunt fails with the wrapper's reason, as it does locally.
TEST_F(RemoteE2e, AProfileTheWorkerCannotApplyFailsWithTheReason) {
  Worker worker("flaky-remote-nocg", {"--no_cgroups"});
  ASSERT_FALSE(worker.port().empty());
  const std::string store = TmpDir() + "/nocg.db";
  runner::CommandResult gate = RunOrDie(
      {.argv = FlakyArgv("gate",
                         {kFixed, "--profiles=cgroup:20", "--runs=3",
                          "--store=" + store, "--hunt_id=nocg"},
                         worker.executor()),
       .working_dir = Checkout()});
  EXPECT_TRUE(gate.status.Exited(3)) << gate.status.ToString();
  EXPECT_THAT(gate.stderr_text,
              HasSubstr("flaky gate: profile cgroup:20 cannot be applied on "
                        "the remote executor: no cgroup hierarchy with the "
                        "cpu controller"));
  std::unique_ptr<results::Store> db = OpenStore(store);
  ASSERT_NE(db, nullptr);
  absl::StatusOr<std::vector<results::HuntRecord>> hunts = db->ListHunts();
  ASSERT_THAT(hunts, IsOk());
  ASSERT_EQ(hunts->size(), 1u);
  EXPECT_THAT((*hunts)[0].status, StartsWith("failed: profile cgroup:20"));
  EXPECT_EQ((*hunts)[0].trials, 0) << "no run counts as starved";
}

// Bad input: the executor is down. The gate says so in one line and exits
// 3 (an environment error, never a verdict), and leaves no hunt running.
TEST_F(RemoteE2e, AWorkerThatIsDownIsOneLineAndExit3) {
  Worker worker("flaky-remote-down");
  ASSERT_FALSE(worker.port().empty());
  const std::string executor = worker.executor();
  worker.Stop();  // its port now refuses connections
  const std::string store = TmpDir() + "/down.db";
  runner::CommandResult gate = RunOrDie(
      {.argv = FlakyArgv("gate",
                         {kOriginal, absl::StrCat("--profiles=", kChaos),
                          "--runs=5", "--store=" + store},
                         executor),
       .working_dir = Checkout()});
  EXPECT_TRUE(gate.status.Exited(3)) << gate.status.ToString();
  std::vector<std::string> errors;
  for (absl::string_view line : absl::StrSplit(gate.stderr_text, '\n')) {
    if (absl::StartsWith(line, "flaky gate: ")) errors.emplace_back(line);
  }
  ASSERT_EQ(errors.size(), 1u) << gate.stderr_text;
  EXPECT_THAT(errors[0],
              AllOf(StartsWith("flaky gate: remote execution failed (bazel "
                               "build, Bazel exit code 34)"),
                    HasSubstr("Connection refused"),
                    HasSubstr("is the remote executor running")));
  std::unique_ptr<results::Store> db = OpenStore(store);
  ASSERT_NE(db, nullptr);
  absl::StatusOr<std::vector<results::HuntRecord>> hunts = db->ListHunts();
  ASSERT_THAT(hunts, IsOk());
  for (const results::HuntRecord& hunt : *hunts) {
    EXPECT_NE(hunt.status, "running") << hunt.id;
  }
}

// The worker dies while a hunt runs on it: the hunt ends with exit 3, keeps
// the trials it stored and is marked failed, not left running.
TEST_F(RemoteE2e, AWorkerThatDiesMidHuntLeavesAFailedHuntWithItsTrials) {
  Worker worker("flaky-remote-dies");
  ASSERT_FALSE(worker.port().empty());
  const std::string store = TmpDir() + "/dies.db";
  const std::string log = TmpDir() + "/dies.log";
  runner::PosixLauncher launcher;
  absl::StatusOr<std::unique_ptr<runner::Process>> gate = launcher.Start(
      {.argv = FlakyArgv("gate",
                         {kFixed, absl::StrCat("--profiles=", kChaos),
                          "--runs=2000", "--store=" + store, "--hunt_id=dies"},
                         worker.executor()),
       .working_dir = Checkout(),
       .stdout_path = log,
       .stderr_path = log});
  ASSERT_THAT(gate, IsOk());
  // Wait for the event: trials of the hunt in the store.
  std::unique_ptr<results::Store> db = OpenStore(store);
  ASSERT_NE(db, nullptr);
  const absl::Time deadline = absl::Now() + absl::Minutes(10);
  int64_t stored = 0;
  while (stored == 0) {
    if (std::optional<runner::ExitStatus> early = (*gate)->Poll()) {
      FAIL() << "the gate ended before any trial: " << early->ToString()
             << "\n" << ReadFile(log);
    }
    ASSERT_LT(absl::Now(), deadline)
        << "no trial stored within 10 minutes:\n" << ReadFile(log);
    absl::StatusOr<std::vector<results::HuntRecord>> hunts = db->ListHunts();
    if (hunts.ok() && !hunts->empty()) stored = (*hunts)[0].trials;
    absl::SleepFor(absl::Milliseconds(100));
  }
  worker.Stop();
  const runner::ExitStatus exit = (*gate)->Wait();
  EXPECT_TRUE(exit.Exited(3)) << exit.ToString() << "\n" << ReadFile(log);
  absl::StatusOr<std::vector<results::HuntRecord>> hunts = db->ListHunts();
  ASSERT_THAT(hunts, IsOk());
  ASSERT_EQ(hunts->size(), 1u);
  EXPECT_THAT((*hunts)[0].status, StartsWith("failed: ")) << ReadFile(log);
  EXPECT_GE((*hunts)[0].trials, stored) << "stored trials are kept";
}

}  // namespace
}  // namespace flaky::remote
