// RunHunt against a scripted Bazel (testing/fake_bazel.h): it answers
// queries and plays `bazel test` by writing BEP lines, test.xml and
// test.log files as Bazel would, one run per poll, on a manual clock. The
// store is real SQLite under TEST_TMPDIR.
#include "flaky/runner/hunt.h"

#include <sys/stat.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "base/status_matchers.h"
#include "flaky/results/store.h"
#include "flaky/results/trial_sink.h"
#include "flaky/runner/clock.h"
#include "flaky/runner/launcher.h"
#include "flaky/runner/testing/fake_bazel.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::runner {
namespace {

using ::flaky::runner::testing::FakeBazel;
using ::flaky::testing::IsOk;
using ::flaky::testing::StatusIs;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

class HuntTest : public ::testing::Test {
 protected:
  HuntTest()
      : clock_(absl::FromUnixSeconds(1795801329)),
        dir_(absl::StrCat(std::getenv("TEST_TMPDIR"), "/",
                          ::testing::UnitTest::GetInstance()
                              ->current_test_info()
                              ->name())),
        bazel_(clock_, dir_) {
    mkdir(dir_.c_str(), 0755);
    mkdir((dir_ + "/ws").c_str(), 0755);
    std::ofstream(dir_ + "/ws/WORKSPACE") << "workspace(name = \"t\")\n";
    options_.targets = {"//t:a_test"};
    options_.profiles = {"none"};
    options_.runs = 5;
    options_.bazel.bazel = "/bin/sh";  // must exist; the launcher is fake
    options_.workspace = dir_ + "/ws";
    options_.store_path = dir_ + "/flaky.db";
    options_.wrapper_candidates = {"//flaky/starve:starve",
                                   "@flaky//flaky/starve:starve"};
    options_.hunt_id = "h1";
    options_.host = "host-1";
    options_.commit = "abc123";
    bazel_.stop = &stop_;
  }

  absl::StatusOr<HuntResult> Hunt() {
    return RunHunt(options_, {.launcher = &bazel_,
                              .clock = &clock_,
                              .out = &out_,
                              .tty = false,
                              .stop = &stop_});
  }

  std::unique_ptr<results::Store> OpenStore() {
    absl::StatusOr<std::unique_ptr<results::Store>> store =
        results::Store::Open(options_.store_path);
    EXPECT_THAT(store, IsOk());
    return store.ok() ? std::move(*store) : nullptr;
  }

  // FailuresOf is how often `target` failed under `profile` in hunt h1; -1
  // when the store cannot say.
  int64_t FailuresOf(const std::string& target, const std::string& profile) {
    std::unique_ptr<results::Store> store = OpenStore();
    if (store == nullptr) return -1;
    absl::StatusOr<std::vector<results::CaseSummary>> rows =
        store->Summarize({.hunt_ids = {"h1"}, .targets = {}, .profiles = {}});
    if (!rows.ok()) return -1;
    int64_t failures = 0;
    for (const results::CaseSummary& row : *rows) {
      if (row.profile == profile && row.target == target) failures += row.failures;
    }
    return failures;
  }

  ManualClock clock_;
  std::string dir_;
  FakeBazel bazel_;
  HuntOptions options_;
  std::ostringstream out_;
  std::atomic<bool> stop_{false};
};

TEST_F(HuntTest, RunsEveryProfileAndStoresATrialPerRun) {
  options_.profiles = {"none", "hogs:2"};
  bazel_.fails = [](int run) { return run == 2 || run == 4; };
  absl::StatusOr<HuntResult> result = Hunt();
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->status, results::HuntStatus::kDone);
  EXPECT_EQ(result->runs, 10);
  EXPECT_EQ(result->failed_runs, 4);
  EXPECT_EQ(result->trials, 10);
  EXPECT_EQ(result->wrapper, "//flaky/starve:starve");
  EXPECT_THAT(result->targets, ::testing::ElementsAre("//t:a_test"));

  std::vector<std::string> tests = bazel_.TestCommands();
  ASSERT_EQ(tests.size(), 2u);
  // `none` applies nothing: its runs go without the wrapper.
  EXPECT_THAT(tests[0], HasSubstr("--runs_per_test=5 --build_event_json_file="));
  EXPECT_THAT(tests[0], Not(HasSubstr("--run_under")));
  EXPECT_THAT(tests[1], HasSubstr("--runs_per_test=5 --run_under=//flaky/"
                                  "starve:starve --profile=hogs:2 "
                                  "--record_file=/dev/null --"));
  EXPECT_THAT(tests[1], HasSubstr("--nocache_test_results"));
  EXPECT_THAT(tests[1], ::testing::EndsWith("-- //t:a_test"));

  std::unique_ptr<results::Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<std::vector<results::HuntRecord>> hunts = store->ListHunts();
  ASSERT_THAT(hunts, IsOk());
  ASSERT_EQ(hunts->size(), 1u);
  EXPECT_EQ((*hunts)[0].status, "done");
  EXPECT_EQ((*hunts)[0].commit, "abc123");
  EXPECT_EQ((*hunts)[0].mode, "bazel_runs");
  absl::StatusOr<std::vector<results::CaseSummary>> cases =
      store->Summarize({.hunt_ids = {"h1"}, .targets = {}, .profiles = {}});
  ASSERT_THAT(cases, IsOk());
  ASSERT_EQ(cases->size(), 2u);
  for (const results::CaseSummary& c : *cases) {
    EXPECT_EQ(c.test_case, "Suite.Race");
    EXPECT_EQ(c.trials, 5);
    EXPECT_EQ(c.failures, 2);
    ASSERT_EQ(c.signatures.size(), 1u);
    EXPECT_THAT(c.signatures[0].signature,
                HasSubstr("unrecognized interpreter ID N"));
  }
  absl::StatusOr<std::vector<results::Trial>> trials =
      store->ListTrials({.hunt_ids = {"h1"}, .targets = {}, .profiles = {}});
  ASSERT_THAT(trials, IsOk());
  for (const results::Trial& trial : *trials) {
    EXPECT_EQ(trial.commit, "abc123");
    EXPECT_EQ(trial.host, "host-1");
  }
}

// CollectingSink keeps what the trial stream hands it, and fails when told.
class CollectingSink : public results::TrialSink {
 public:
  absl::Status Accept(absl::Span<const results::Trial> run) override {
    runs.emplace_back(run.begin(), run.end());
    return error;
  }
  absl::Status Flush() override {
    ++flushes;
    return absl::OkStatus();
  }
  std::vector<std::vector<results::Trial>> runs;
  int flushes = 0;
  absl::Status error = absl::OkStatus();
};

TEST_F(HuntTest, EveryRunsTrialsGoDownTheStreamAsTheyAreRead) {
  options_.profiles = {"none", "hogs:2"};
  options_.runs = 3;
  options_.batch_trials = 1000;  // the store writes once per round
  bazel_.with_skipped_case = true;
  CollectingSink sink;
  absl::StatusOr<HuntResult> result =
      RunHunt(options_, {.launcher = &bazel_, .clock = &clock_, .out = &out_,
                         .tty = false, .stop = &stop_, .sinks = {&sink}});
  ASSERT_THAT(result, IsOk());
  // One Accept per run, each with the run's cases, in order.
  ASSERT_EQ(sink.runs.size(), 6u);
  for (size_t i = 0; i < sink.runs.size(); ++i) {
    ASSERT_EQ(sink.runs[i].size(), 2u);
    EXPECT_EQ(sink.runs[i][0].run, static_cast<int>(i % 3) + 1);
    EXPECT_EQ(sink.runs[i][0].profile, i < 3 ? "none" : "hogs:2");
    EXPECT_EQ(sink.runs[i][0].duration, absl::Milliseconds(2));
    EXPECT_EQ(sink.runs[i][1].outcome, results::Outcome::kSkipped);
  }
  EXPECT_GE(sink.flushes, 2);  // after each round
  EXPECT_EQ(result->trials, 12);
}

TEST_F(HuntTest, ASinksErrorEndsTheHuntAndKeepsWhatWasStored) {
  options_.runs = 5;
  CollectingSink sink;
  sink.error = absl::InternalError("exporter broke");
  absl::StatusOr<HuntResult> result =
      RunHunt(options_, {.launcher = &bazel_, .clock = &clock_, .out = &out_,
                         .tty = false, .stop = &stop_, .sinks = {&sink}});
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kInternal, "exporter broke"));
  EXPECT_EQ(sink.runs.size(), 1u);
  std::unique_ptr<results::Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<std::vector<results::HuntRecord>> hunts = store->ListHunts();
  ASSERT_THAT(hunts, IsOk());
  EXPECT_THAT((*hunts)[0].status, StartsWith("failed: exporter broke"));
  EXPECT_EQ((*hunts)[0].trials, 1);
}

TEST_F(HuntTest, SeveralTargetsRunTogetherAndRunsCountPerTarget) {
  bazel_.query_output = "cc_test rule //t:a_test\ncc_test rule //t:b_test\n";
  options_.targets = {"//t:..."};
  options_.runs = 3;
  absl::StatusOr<HuntResult> result = Hunt();
  ASSERT_THAT(result, IsOk());
  EXPECT_THAT(result->targets, ::testing::ElementsAre("//t:a_test", "//t:b_test"));
  EXPECT_EQ(result->runs, 6);
  EXPECT_EQ(result->trials, 6);
  ASSERT_EQ(bazel_.TestCommands().size(), 1u);
  EXPECT_THAT(bazel_.TestCommands()[0],
              HasSubstr("--runs_per_test=3 "));
  EXPECT_THAT(bazel_.TestCommands()[0],
              ::testing::EndsWith("-- //t:a_test //t:b_test"));
  EXPECT_THAT(out_.str(), HasSubstr("6/6 runs"));
}

TEST_F(HuntTest, RemoteRunsOfNoneKeepTheWrapperToRecordTheirWorker) {
  options_.profiles = {"none"};
  options_.bazel.extra_flags = {"--remote_executor=grpc://127.0.0.1:1"};
  ASSERT_THAT(Hunt(), IsOk());
  EXPECT_THAT(bazel_.TestCommands()[0],
              HasSubstr("--run_under=//flaky/starve:starve --profile=none"));
}

TEST_F(HuntTest, WrapperFallsBackToTheExternalRepositoryLabel) {
  options_.profiles = {"hogs:1"};
  bazel_.labels = {"@flaky//flaky/starve:starve"};
  absl::StatusOr<HuntResult> result = Hunt();
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->wrapper, "@flaky//flaky/starve:starve");
  EXPECT_THAT(bazel_.TestCommands()[0],
              HasSubstr("--run_under=@flaky//flaky/starve:starve"));
}

TEST_F(HuntTest, MissingWrapperIsAClearError) {
  options_.profiles = {"none", "hogs:1"};
  bazel_.labels = {};
  EXPECT_THAT(Hunt(), StatusIs(absl::StatusCode::kFailedPrecondition,
                               HasSubstr("the starve wrapper is not in this "
                                         "workspace (tried //flaky/starve:"
                                         "starve, @flaky//flaky/starve:starve)")));
  EXPECT_EQ(bazel_.invocations, 0);
}

TEST_F(HuntTest, AHuntOfNoneAloneNeedsNoWrapper) {
  options_.profiles = {"none"};
  bazel_.labels = {};  // no wrapper anywhere
  absl::StatusOr<HuntResult> result = Hunt();
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->wrapper, "");
  EXPECT_EQ(result->runs, 5);
}

TEST_F(HuntTest, InterruptStopsBazelKeepsCompletedTrialsAndMarksTheHunt) {
  options_.runs = 10;
  options_.batch_trials = 1000;  // nothing flushed before the stop
  bazel_.stop_after_runs = 3;
  absl::StatusOr<HuntResult> result = Hunt();
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->status, results::HuntStatus::kInterrupted);
  EXPECT_EQ(bazel_.interrupts, 1);
  EXPECT_EQ(result->runs, 3);
  std::unique_ptr<results::Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<std::vector<results::HuntRecord>> hunts = store->ListHunts();
  ASSERT_THAT(hunts, IsOk());
  EXPECT_EQ((*hunts)[0].status, "interrupted");
  EXPECT_EQ((*hunts)[0].trials, 3);
}

TEST_F(HuntTest, StarveWrapperErrorStopsTheHuntWithItsMessage) {
  options_.profiles = {"cgroup:20"};
  bazel_.log_extra = [](int run) {
    return run == 2 ? "flaky-starve: error: cgroup:20: /sys/fs/cgroup is "
                      "read-only\n"
                    : "";
  };
  options_.runs = 6;
  EXPECT_THAT(Hunt(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("profile cgroup:20 cannot be applied here: "
                                 "cgroup:20: /sys/fs/cgroup is read-only "
                                 "(--allow_fallback")));
  EXPECT_THAT(bazel_.TestCommands()[0],
              HasSubstr("--strategy=TestRunner=processwrapper-sandbox"));
  EXPECT_EQ(bazel_.interrupts, 1);
  std::unique_ptr<results::Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<std::vector<results::HuntRecord>> hunts = store->ListHunts();
  ASSERT_THAT(hunts, IsOk());
  EXPECT_THAT((*hunts)[0].status, StartsWith("failed: profile cgroup:20"));
  // Run 1 completed before the wrapper failed; run 2 is not a trial.
  EXPECT_EQ((*hunts)[0].trials, 1);
}

TEST_F(HuntTest, AProfileARemoteWorkerCannotApplySaysWhere) {
  options_.profiles = {"cgroup:20"};
  bazel_.strategy = "remote";
  bazel_.unappliable = {"cgroup:20"};
  EXPECT_THAT(Hunt(), StatusIs(absl::StatusCode::kFailedPrecondition,
                               HasSubstr("profile cgroup:20 cannot be applied "
                                         "on the remote executor: cgroup:20: "
                                         "not on this machine")));
}

TEST_F(HuntTest, NonexistentTargetIsAOneLineError) {
  bazel_.query_exit = 7;
  bazel_.query_stderr =
      "Loading: 0 packages loaded\nERROR: no such target '//t:nope': target "
      "'nope' not declared in package 't'\n";
  options_.targets = {"//t:nope"};
  EXPECT_THAT(Hunt(), StatusIs(absl::StatusCode::kInvalidArgument,
                               HasSubstr("bad targets (bazel query exit code "
                                         "7): no such target '//t:nope'")));
}

TEST_F(HuntTest, NonTestTargetIsRejected) {
  bazel_.query_output = "cc_library rule //t:lib\n";
  options_.targets = {"//t:lib"};
  EXPECT_THAT(Hunt(), StatusIs(absl::StatusCode::kInvalidArgument,
                               HasSubstr("//t:lib is a cc_library rule, not "
                                         "a test")));
  EXPECT_EQ(bazel_.invocations, 0);
}

TEST_F(HuntTest, BadProfileFailsBeforeAnyCommand) {
  options_.profiles = {"none", "cgroup:abc"};
  EXPECT_THAT(Hunt(), StatusIs(absl::StatusCode::kInvalidArgument,
                               HasSubstr("bad profile in --profiles: "
                                         "cgroup:abc")));
  EXPECT_TRUE(bazel_.commands.empty());
}

TEST_F(HuntTest, AHuntNeedsAnId) {
  options_.hunt_id = "";
  EXPECT_THAT(Hunt(), StatusIs(absl::StatusCode::kInvalidArgument,
                               HasSubstr("the hunt needs an id")));
  EXPECT_TRUE(bazel_.commands.empty());
}

TEST_F(HuntTest, OutsideAWorkspaceIsAClearError) {
  options_.workspace = dir_;
  EXPECT_THAT(Hunt(), StatusIs(absl::StatusCode::kFailedPrecondition,
                               HasSubstr("not inside a Bazel workspace")));
}

TEST_F(HuntTest, MissingBazelIsNotFound) {
  options_.bazel.bazel = "flaky-no-such-bazel";
  EXPECT_THAT(Hunt(), StatusIs(absl::StatusCode::kNotFound,
                               HasSubstr("flaky-no-such-bazel not found on "
                                         "PATH")));
}

TEST_F(HuntTest, UnwritableStoreFailsBeforeBuilding) {
  options_.store_path = "/nonexistent/dir/flaky.db";
  EXPECT_THAT(Hunt(), StatusIs(absl::StatusCode::kUnavailable,
                               HasSubstr("/nonexistent/dir/flaky.db")));
  EXPECT_EQ(bazel_.invocations, 0);
}

TEST_F(HuntTest, BazelFailureShowsBazelsFirstError) {
  bazel_.bazel_error = "INFO: x\nERROR: analysis of target '//t:a_test' failed\n";
  absl::StatusOr<HuntResult> result = Hunt();
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kFailedPrecondition,
                               HasSubstr("analysis of target '//t:a_test' "
                                         "failed")));
}

TEST_F(HuntTest, ARemoteExecutorThatIsDownIsUnavailableAndEndsTheHunt) {
  bazel_.bazel_error =
      "INFO: Invocation ID: 1\nERROR: Failed to query remote execution "
      "capabilities: Connection refused: /127.0.0.1:9\n";
  bazel_.bazel_exit = 34;  // Bazel's REMOTE_ERROR
  EXPECT_THAT(Hunt(),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("remote execution failed (bazel test, Bazel "
                                 "exit code 34): Failed to query remote "
                                 "execution capabilities: Connection refused: "
                                 "/127.0.0.1:9: is the remote executor "
                                 "running")));
  std::unique_ptr<results::Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<std::vector<results::HuntRecord>> hunts = store->ListHunts();
  ASSERT_THAT(hunts, IsOk());
  ASSERT_EQ(hunts->size(), 1u);
  EXPECT_THAT((*hunts)[0].status, StartsWith("failed: remote execution failed"));
}

TEST_F(HuntTest, ResultsLeftInTheRemoteCacheStopTheHuntInsteadOfFailingRuns) {
  options_.runs = 6;
  bazel_.remote_xml_from_run = 3;
  EXPECT_THAT(
      Hunt(),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               AllOf(HasSubstr("run 3 of //t:a_test: Bazel left its test.xml "
                               "bytestream://127.0.0.1:9/blobs/ab12/345 in "
                               "the remote cache"),
                     HasSubstr("pass --remote_download_toplevel"))));
  EXPECT_EQ(bazel_.interrupts, 1);
  std::unique_ptr<results::Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<std::vector<results::HuntRecord>> hunts = store->ListHunts();
  ASSERT_THAT(hunts, IsOk());
  EXPECT_THAT((*hunts)[0].status, StartsWith("failed: run 3 of //t:a_test"));
  // Runs 1 and 2 were read; run 3 is not turned into an error trial.
  EXPECT_EQ((*hunts)[0].trials, 2);
}

TEST_F(HuntTest, MalformedBuildEventsStopTheHuntAndKeepEarlierTrials) {
  options_.runs = 6;
  bazel_.garbage_after_run = 2;
  EXPECT_THAT(Hunt(), StatusIs(absl::StatusCode::kFailedPrecondition,
                               HasSubstr("cannot read Bazel's build events")));
  EXPECT_EQ(bazel_.interrupts, 1);
  std::unique_ptr<results::Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<std::vector<results::HuntRecord>> hunts = store->ListHunts();
  ASSERT_THAT(hunts, IsOk());
  EXPECT_THAT((*hunts)[0].status, StartsWith("failed: cannot read Bazel's"));
  // Run 1 was read before the damage; run 2 arrived in the same read as
  // the bad line, which the BEP reader rejects as a whole.
  EXPECT_EQ((*hunts)[0].trials, 1);
}

TEST_F(HuntTest, BudgetSizesRoundsFromMeasuredRunTime) {
  options_.budget = absl::Seconds(60);
  absl::StatusOr<HuntResult> result = Hunt();
  ASSERT_THAT(result, IsOk());
  std::vector<std::string> tests = bazel_.TestCommands();
  ASSERT_GE(tests.size(), 2u);
  EXPECT_THAT(tests[0], HasSubstr("--runs_per_test=10 "));
  // One fake run takes 1 s (plus polling), so the budget fits about 50:
  // the rounds after the first fill most of it without passing it much.
  EXPECT_GE(result->runs, 40);
  EXPECT_LE(result->elapsed, absl::Seconds(66));
}

// Decided once every case of the profile that ran has 20 trials; sees the
// whole hunt's rows, as the statistics' rule (stats::ProfileSettled) does.
absl::StatusOr<bool> TwentyTrialsEach(const std::vector<results::CaseSummary>& rows,
                                      const std::string& profile) {
  bool any = false;
  for (const results::CaseSummary& row : rows) {
    if (row.profile != profile || row.trials == 0) continue;
    any = true;
    if (row.trials < 20) return false;
  }
  return any;
}

// Decided once every case of the profile that ran has failed 5 times.
absl::StatusOr<bool> FiveFailuresEach(const std::vector<results::CaseSummary>& rows,
                                      const std::string& profile) {
  bool any = false;
  for (const results::CaseSummary& row : rows) {
    if (row.profile != profile || row.trials == 0) continue;
    any = true;
    if (row.failures < 5) return false;
  }
  return any;
}

TEST_F(HuntTest, UntilDecidedStopsWhenEveryCaseIsDecided) {
  options_.until_decided = true;
  options_.runs = 100;
  options_.round_runs = 10;
  options_.decide = TwentyTrialsEach;
  absl::StatusOr<HuntResult> result = Hunt();
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->runs, 20);
  EXPECT_EQ(bazel_.TestCommands().size(), 2u);
}

TEST_F(HuntTest, UntilDecidedIgnoresCasesThatOnlySkip) {
  options_.until_decided = true;
  options_.runs = 100;
  options_.round_runs = 10;
  options_.decide = TwentyTrialsEach;
  bazel_.with_skipped_case = true;
  absl::StatusOr<HuntResult> result = Hunt();
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->runs, 20);
  EXPECT_EQ(result->trials, 40);
}

TEST_F(HuntTest, UntilDecidedWithoutADecisionIsRejected) {
  options_.until_decided = true;
  EXPECT_THAT(Hunt(), StatusIs(absl::StatusCode::kFailedPrecondition,
                               HasSubstr("--until_decided")));
}

TEST_F(HuntTest, AutoSearchKeepsTheArmThatFailsMostAndNamesIt) {
  options_.auto_search = true;
  options_.profiles = {"none", "hogs:2", "taskset:0", "cgroup:20", "not-a-profile:1"};
  options_.runs = 40;
  // hogs:2 fails every other run, taskset:0 every fifth, none never;
  // cgroup:20 cannot be applied here.
  bazel_.fails_under = [](const std::string& profile, int run) {
    if (profile == "hogs:2") return run % 2 == 0;
    if (profile == "taskset:0") return run % 5 == 0;
    return false;
  };
  bazel_.unappliable = {"cgroup:20"};
  absl::StatusOr<HuntResult> result = Hunt();
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->auto_winner, "hogs:2");
  // Pass 1: rounds of 10 for none, hogs:2, taskset:0 (cgroup:20 is
  // skipped at its first round); the better half, hogs:2 and taskset:0,
  // stay; pass 2 keeps hogs:2, which then runs to --runs alone.
  std::vector<std::string> tests = bazel_.TestCommands();
  ASSERT_EQ(tests.size(), 7u);
  EXPECT_THAT(tests[0], Not(HasSubstr("--run_under")));  // none
  EXPECT_THAT(tests[1], HasSubstr("--profile=hogs:2 "));
  EXPECT_THAT(tests[3], HasSubstr("--profile=cgroup:20 "));
  EXPECT_THAT(tests[4], HasSubstr("--profile=hogs:2 "));
  EXPECT_THAT(tests[5], HasSubstr("--profile=taskset:0 "));
  EXPECT_THAT(tests[6], HasSubstr("--profile=hogs:2 --"));
  EXPECT_THAT(tests[6], HasSubstr("--runs_per_test=20 "));
  EXPECT_EQ(result->runs, 10 + 20 + 40);  // none, taskset:0, hogs:2
  EXPECT_THAT(result->auto_summary, HasSubstr("auto: winner hogs:2 after 2 passes"));
  EXPECT_THAT(result->auto_summary,
              HasSubstr("cgroup:20: 0 of 0 runs failed, skipped: cgroup:20: not on this machine"));
  EXPECT_THAT(result->auto_summary, HasSubstr("not-a-profile:1: 0 of 0 runs failed, skipped:"));
  EXPECT_THAT(result->auto_summary, HasSubstr("none: 0 of 10 runs failed, dropped after pass 1"));
  EXPECT_THAT(result->auto_summary, HasSubstr("hogs:2: 20 of 40 runs failed, the winner"));
  EXPECT_THAT(out_.str(), HasSubstr("flaky: auto: skipping cgroup:20"));
  // Every arm's trials are stored: the report shows them all.
  std::unique_ptr<results::Store> store = OpenStore();
  absl::StatusOr<std::vector<results::CaseSummary>> rows =
      store->Summarize({.hunt_ids = {"h1"}, .targets = {}, .profiles = {}});
  ASSERT_THAT(rows, IsOk());
  std::set<std::string> profiles;
  for (const results::CaseSummary& row : *rows) profiles.insert(row.profile);
  EXPECT_EQ(profiles, (std::set<std::string>{"hogs:2", "none", "taskset:0"}));
}

TEST_F(HuntTest, AnArmOneTargetRefusesGoesOnWithTheOthers) {
  bazel_.query_output = "cc_test rule //t:a_test\ncc_test rule //t:b_test\n";
  options_.targets = {"//t:..."};
  options_.auto_search = true;
  options_.profiles = {"chaos:1", "hogs:2"};
  options_.runs = 20;
  // chaos:1 cannot act in b_test (a static binary, say) and fails a_test
  // every other run; hogs:2 never fails either.
  bazel_.unappliable_for = {{"//t:b_test", "chaos:1"}};
  bazel_.fails_for = [](const std::string& target, const std::string& profile, int run) {
    return profile == "chaos:1" && target == "//t:a_test" && run % 2 == 0;
  };
  absl::StatusOr<HuntResult> result = Hunt();
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->auto_winner, "chaos:1");
  EXPECT_THAT(out_.str(), HasSubstr("flaky: auto: chaos:1 cannot be applied to //t:b_test: "));
  EXPECT_THAT(out_.str(), HasSubstr("; it goes on with the other targets"));
  const std::vector<std::string> tests = bazel_.TestCommands();
  ASSERT_GE(tests.size(), 3u);
  EXPECT_THAT(tests[0], HasSubstr("--profile=chaos:1 "));
  EXPECT_THAT(tests[0], ::testing::EndsWith("-- //t:a_test //t:b_test"));
  // After the refusal, chaos:1 runs a_test alone; hogs:2 both.
  for (size_t i = 1; i < tests.size(); ++i) {
    if (absl::StrContains(tests[i], "--profile=chaos:1 ")) {
      EXPECT_THAT(tests[i], ::testing::EndsWith("-- //t:a_test")) << i;
    } else {
      EXPECT_THAT(tests[i], ::testing::EndsWith("-- //t:a_test //t:b_test")) << i;
    }
  }
}

TEST_F(HuntTest, AutoSearchFailsWhenNoArmApplies) {
  options_.auto_search = true;
  options_.profiles = {"hogs:2", "cgroup:20"};
  bazel_.unappliable = {"hogs:2", "cgroup:20"};
  EXPECT_THAT(Hunt(), StatusIs(absl::StatusCode::kFailedPrecondition,
                               HasSubstr("no profile of --profiles=auto can be applied")));
}

TEST_F(HuntTest, AutoSearchUntilDecidedStopsAtTheFirstSettledArm) {
  options_.auto_search = true;
  options_.until_decided = true;
  options_.profiles = {"none", "hogs:2"};
  options_.runs = 100;
  bazel_.fails_under = [](const std::string& profile, int) { return profile == "hogs:2"; };
  options_.decide = [](const std::vector<results::CaseSummary>& rows,
                       const std::string& profile) -> absl::StatusOr<bool> {
    for (const results::CaseSummary& row : rows) {
      if (row.profile == profile && row.failures >= 5) return true;
    }
    return false;
  };
  absl::StatusOr<HuntResult> result = Hunt();
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->auto_winner, "hogs:2");
  EXPECT_EQ(result->runs, 20);  // one round each: hogs:2 settled in its first
}

// chaos:1 cannot act in b_test and settles a_test first: the search goes
// on for b_test alone, among the arms that can run it, until one settles
// it, instead of ending with b_test undecided.
TEST_F(HuntTest, AutoSearchUntilDecidedGoesOnForWhatTheFirstSettledArmRefused) {
  bazel_.query_output = "cc_test rule //t:a_test\ncc_test rule //t:b_test\n";
  options_.targets = {"//t:..."};
  options_.auto_search = true;
  options_.until_decided = true;
  options_.profiles = {"chaos:1", "hogs:2", "cgroup:20"};
  options_.runs = 100;
  bazel_.unappliable_for = {{"//t:b_test", "chaos:1"}};
  // chaos:1 fails a_test every run; hogs:2 fails b_test every run.
  bazel_.fails_for = [](const std::string& target, const std::string& profile, int) {
    return (profile == "chaos:1" && target == "//t:a_test") ||
           (profile == "hogs:2" && target == "//t:b_test");
  };
  options_.decide = FiveFailuresEach;
  absl::StatusOr<HuntResult> result = Hunt();
  ASSERT_THAT(result, IsOk());
  EXPECT_THAT(out_.str(), HasSubstr("flaky: auto: chaos:1 settled //t:a_test first; "
                                    "the search goes on for //t:b_test"));
  EXPECT_EQ(result->auto_winner, "hogs:2");
  EXPECT_THAT(result->auto_summary, HasSubstr("settled //t:a_test first"));
  EXPECT_THAT(result->auto_summary, HasSubstr("hogs:2: "));
  EXPECT_THAT(result->auto_summary, HasSubstr(", the winner"));
  // After the settlement only b_test runs, and only under hogs:2; the
  // hunt ends once b_test is settled there, far before --runs.
  const std::vector<std::string> tests = bazel_.TestCommands();
  ASSERT_FALSE(tests.empty());
  EXPECT_THAT(tests.back(), HasSubstr("--profile=hogs:2 "));
  EXPECT_THAT(tests.back(), ::testing::EndsWith("-- //t:b_test"));
  EXPECT_LT(result->runs, 200);
  EXPECT_GE(FailuresOf("//t:b_test", "hogs:2"), 5);
}

// Both chaos arms refuse b_test and win pass 1 on a_test, so hogs:2 is
// dropped; once chaos:1 has settled a_test, no arm left can run b_test:
// hogs:2 comes back for it instead of the hunt ending with b_test unrun.
TEST_F(HuntTest, AutoSearchRevivesADroppedArmForWhatTheWinnersRefused) {
  bazel_.query_output = "cc_test rule //t:a_test\ncc_test rule //t:b_test\n";
  options_.targets = {"//t:..."};
  options_.auto_search = true;
  options_.until_decided = true;
  options_.profiles = {"chaos:1", "taskset:0+chaos:1", "hogs:2"};
  options_.runs = 100;
  bazel_.unappliable_for = {{"//t:b_test", "chaos:1"},
                            {"//t:b_test", "taskset:0+chaos:1"}};
  // The chaos arms fail a_test every run; hogs:2 fails b_test every third.
  bazel_.fails_for = [](const std::string& target, const std::string& profile, int run) {
    if (target == "//t:a_test") return absl::StrContains(profile, "chaos:1");
    return profile == "hogs:2" && run % 3 == 0;
  };
  options_.decide = FiveFailuresEach;
  absl::StatusOr<HuntResult> result = Hunt();
  ASSERT_THAT(result, IsOk());
  EXPECT_THAT(out_.str(), HasSubstr("flaky: auto: hogs:2 dropped earlier, back in the "
                                    "search for //t:b_test"));
  EXPECT_EQ(result->auto_winner, "hogs:2");
  EXPECT_THAT(result->auto_summary,
              HasSubstr("runs failed, skipped: every target it takes was "
                        "settled by chaos:1"));
  EXPECT_THAT(result->auto_summary, HasSubstr("settled //t:a_test first"));
  const std::vector<std::string> tests = bazel_.TestCommands();
  ASSERT_FALSE(tests.empty());
  EXPECT_THAT(tests.back(), HasSubstr("--profile=hogs:2 "));
  EXPECT_THAT(tests.back(), ::testing::EndsWith("-- //t:b_test"));
  EXPECT_GE(FailuresOf("//t:b_test", "hogs:2"), 5);
}

TEST_F(HuntTest, InProcessRepetitionMakesATrialPerIteration) {
  options_.repeat = 3;
  options_.runs = 2;
  bazel_.repeat_iterations = 3;
  bazel_.fails = [](int run) { return run == 1; };
  absl::StatusOr<HuntResult> result = Hunt();
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->mode, results::HuntMode::kInProcessRepeat);
  EXPECT_EQ(result->trials, 6);
  EXPECT_THAT(bazel_.TestCommands()[0], HasSubstr("--test_arg=--gtest_repeat=3"));
  ASSERT_EQ(result->summaries.size(), 1u);
  EXPECT_EQ(result->summaries[0].trials, 6);
  EXPECT_EQ(result->summaries[0].failures, 1);
  EXPECT_EQ(result->summaries[0].mode, "in_process_repeat");
}

}  // namespace
}  // namespace flaky::runner
