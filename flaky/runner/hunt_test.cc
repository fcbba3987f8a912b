// RunHunt against a scripted Bazel: a fake launcher answers queries and
// plays `bazel test` by writing BEP lines, test.xml and test.log files as
// Bazel would, one run per poll, on a manual clock. The store is real
// SQLite under TEST_TMPDIR.
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
#include "flaky/base/status_matchers.h"
#include "flaky/results/store.h"
#include "flaky/runner/clock.h"
#include "flaky/runner/launcher.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::runner {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::StatusIs;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string ArgValue(const std::vector<std::string>& argv,
                     absl::string_view prefix) {
  for (const std::string& arg : argv) {
    if (absl::StartsWith(arg, prefix)) return arg.substr(prefix.size());
  }
  return "";
}

bool Has(const std::vector<std::string>& argv, absl::string_view word) {
  for (const std::string& arg : argv) {
    if (arg == word) return true;
  }
  return false;
}

std::string CaseXml(bool failed, int run, bool with_skipped) {
  return absl::StrCat(
      R"(<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="1" name="AllTests"><testsuite name="Suite" tests="1">
<testcase name="Race" status="run" result="completed" time="0.002" classname="Suite">)",
      failed ? absl::StrCat("<failure message=\"t.cc:9&#x0A;unrecognized "
                            "interpreter ID ",
                            60 + run, "\" type=\"\"></failure>")
             : "",
      "</testcase>",
      with_skipped ? "<testcase name=\"Skips\" status=\"run\" result=\"skipped\" "
                     "time=\"0\" classname=\"Suite\"><skipped/></testcase>"
                   : "",
      "</testsuite></testsuites>\n");
}

std::string RepeatLog(int iterations, bool fail_second) {
  std::string log = "Executing tests from //t:a_test\n";
  for (int i = 1; i <= iterations; ++i) {
    absl::StrAppend(&log, "Repeating all tests (iteration ", i, ") . . .\n\n",
                    "[ RUN      ] Suite.Race\n");
    if (fail_second && i == 2) {
      absl::StrAppend(&log, "t.cc:9: Failure\nboom\n",
                      "[  FAILED  ] Suite.Race (1 ms)\n");
    } else {
      absl::StrAppend(&log, "[       OK ] Suite.Race (1 ms)\n");
    }
  }
  return log;
}

class FakeBazel;

// FakeTestProcess plays one `bazel test`: each Poll completes one run.
class FakeTestProcess : public Process {
 public:
  FakeTestProcess(FakeBazel& bazel, std::vector<std::string> argv,
                  std::string log_path);
  std::optional<ExitStatus> Poll() override;
  ExitStatus Wait() override {
    while (!Poll()) {
    }
    return *status_;
  }
  void Interrupt() override;
  void Kill() override { status_ = ExitStatus{.code = -1, .signal = 9}; }

 private:
  FakeBazel& bazel_;
  std::vector<std::string> argv_;
  std::string log_path_;
  std::string bep_path_;
  int runs_ = 0;
  int next_run_ = 1;
  bool any_failed_ = false;
  std::optional<ExitStatus> status_;
};

class DoneProcess : public Process {
 public:
  explicit DoneProcess(int code) : status_{.code = code} {}
  std::optional<ExitStatus> Poll() override { return status_; }
  ExitStatus Wait() override { return status_; }
  void Interrupt() override {}
  void Kill() override {}

 private:
  ExitStatus status_;
};

class FakeBazel : public Launcher {
 public:
  FakeBazel(ManualClock& clock, std::string dir)
      : clock(clock), dir(std::move(dir)) {}

  absl::StatusOr<std::unique_ptr<Process>> Start(
      const Command& command) override {
    commands.push_back(command.argv);
    if (Has(command.argv, "build")) return std::make_unique<DoneProcess>(0);
    if (Has(command.argv, "test")) {
      ++invocations;
      if (!bazel_error.empty()) {
        std::ofstream(command.stderr_path) << bazel_error;
        return std::make_unique<DoneProcess>(bazel_exit);
      }
      return std::make_unique<FakeTestProcess>(*this, command.argv,
                                               command.stderr_path);
    }
    return absl::InvalidArgumentError("unexpected command");
  }

  absl::StatusOr<CommandResult> Run(const Command& command) override {
    commands.push_back(command.argv);
    CommandResult result;
    if (command.argv[0] == "git") {
      result.stdout_text = "abc123\n";
    } else if (Has(command.argv, "--output=label_kind")) {
      result.status.code = query_exit;
      result.stdout_text = query_output;
      result.stderr_text = query_stderr;
    } else if (Has(command.argv, "query")) {
      result.status.code = labels.count(command.argv.back()) ? 0 : 7;
    }
    return result;
  }

  std::vector<std::string> TestCommands() const {
    std::vector<std::string> lines;
    for (const std::vector<std::string>& argv : commands) {
      if (Has(argv, "test")) lines.push_back(absl::StrJoin(argv, " "));
    }
    return lines;
  }

  ManualClock& clock;
  std::string dir;
  std::vector<std::vector<std::string>> commands;
  std::set<std::string> labels = {"//flaky/starve:starve"};
  std::string query_output = "cc_test rule //t:a_test\n";
  int query_exit = 0;
  std::string query_stderr;
  std::string bazel_error;  // non-empty: `bazel test` fails at once
  int bazel_exit = 1;       // ... with this exit code
  // From this run on, test.xml is named by a bytestream:// URI, as Bazel
  // does for outputs it leaves in a remote cache.
  int remote_xml_from_run = -1;
  std::string strategy;  // non-empty: the BEP's executionInfo.strategy
  std::function<bool(int run)> fails = [](int) { return false; };
  // When set, decides instead of `fails`, knowing the run's profile.
  std::function<bool(const std::string& profile, int run)> fails_under;
  // Profiles whose wrapper reports that they cannot be applied.
  std::set<std::string> unappliable;
  std::function<std::string(int run)> log_extra = [](int) { return ""; };
  int repeat_iterations = 0;  // > 0: logs carry gtest_repeat output
  int garbage_after_run = -1;  // writes a malformed BEP line after it
  bool with_skipped_case = false;  // test.xml adds an always-skipped case
  absl::Duration per_run = absl::Seconds(1);
  // stop/stop_after_runs: set the hunt's stop flag (as SIGINT would)
  // once this many runs completed in total.
  std::atomic<bool>* stop = nullptr;
  int stop_after_runs = -1;
  int runs_completed = 0;
  int invocations = 0;
  int interrupts = 0;
};

FakeTestProcess::FakeTestProcess(FakeBazel& bazel, std::vector<std::string> argv,
                                 std::string log_path)
    : bazel_(bazel), argv_(std::move(argv)), log_path_(std::move(log_path)) {
  bep_path_ = ArgValue(argv_, "--build_event_json_file=");
  runs_ = std::atoi(ArgValue(argv_, "--runs_per_test=").c_str());
  std::ofstream(log_path_) << "INFO: Analyzed 1 target\n";
  std::ofstream(bep_path_) << R"({"id":{"started":{}},"started":{"command":"test"}})"
                           << "\n";
}

std::optional<ExitStatus> FakeTestProcess::Poll() {
  if (status_) return status_;
  // Like Bazel after Ctrl-C reached us: no new runs start.
  if (bazel_.stop != nullptr && bazel_.stop->load()) return status_;
  if (next_run_ > runs_) {
    std::ofstream(bep_path_, std::ios::app)
        << R"({"id":{"buildFinished":{}},"finished":{"exitCode":{"name":")"
        << (any_failed_ ? "TESTS_FAILED\",\"code\":3" : "SUCCESS\"")
        << R"(}}})" << "\n"
        << R"({"id":{"progress":{"opaqueCount":5}},"progress":{},"lastMessage":true})"
        << "\n";
    status_ = ExitStatus{.code = any_failed_ ? 3 : 0};
    return status_;
  }
  const int run = next_run_++;
  const std::string run_dir =
      absl::StrCat(bazel_.dir, "/inv", bazel_.invocations, "_run", run);
  mkdir(run_dir.c_str(), 0755);
  // The profile from --run_under='WRAPPER --profile=P ... --'.
  std::string profile;
  for (const std::string& arg : argv_) {
    const size_t at = arg.find("--profile=");
    if (absl::StartsWith(arg, "--run_under=") && at != std::string::npos) {
      profile = arg.substr(at + 10, arg.find(' ', at) - at - 10);
    }
  }
  const bool failed =
      bazel_.fails_under ? bazel_.fails_under(profile, run) : bazel_.fails(run);
  std::string extra = bazel_.log_extra(run);
  if (bazel_.unappliable.count(profile) > 0) {
    extra += absl::StrCat("flaky-starve: error: ", profile,
                          ": not on this machine\n");
  }
  const bool starve_error = absl::StrContains(extra, "flaky-starve: error:");
  any_failed_ = any_failed_ || failed || starve_error;
  std::ofstream(run_dir + "/test.xml") << CaseXml(failed, run, bazel_.with_skipped_case);
  std::ofstream(run_dir + "/test.log")
      << extra
      << (bazel_.repeat_iterations > 0
              ? RepeatLog(bazel_.repeat_iterations, failed)
              : "[ RUN      ] Suite.Race\n");
  // One testResult per target of the command line (after "--").
  bool targets = false;
  for (const std::string& arg : argv_) {
    if (arg == "--") {
      targets = true;
      continue;
    }
    if (!targets) continue;
    std::ofstream(bep_path_, std::ios::app)
        << R"({"id":{"testResult":{"label":")" << arg << R"(","run":)" << run
        << R"(,"shard":1,"attempt":1}},"testResult":{"testActionOutput":[)"
        << R"({"name":"test.log","uri":"file://)" << run_dir << R"(/test.log"},)"
        << R"({"name":"test.xml","uri":")"
        << (bazel_.remote_xml_from_run > 0 && run >= bazel_.remote_xml_from_run
                ? "bytestream://127.0.0.1:9/blobs/ab12/345"
                : absl::StrCat("file://", run_dir, "/test.xml"))
        << R"("}],)"
        << (bazel_.strategy.empty()
                ? ""
                : absl::StrCat(R"("executionInfo":{"strategy":")",
                               bazel_.strategy, R"("},)"))
        << R"("testAttemptDurationMillis":"1000","status":")"
        << (failed || starve_error ? "FAILED" : "PASSED")
        << R"(","testAttemptStartMillisEpoch":")"
        << absl::ToUnixMillis(bazel_.clock.Now()) << R"("}})" << "\n";
  }
  if (run == bazel_.garbage_after_run) {
    std::ofstream(bep_path_, std::ios::app) << "{\"id\": not json\n";
  }
  bazel_.clock.Advance(bazel_.per_run);
  ++bazel_.runs_completed;
  if (bazel_.stop != nullptr && bazel_.runs_completed == bazel_.stop_after_runs) {
    bazel_.stop->store(true);
  }
  return std::nullopt;
}

void FakeTestProcess::Interrupt() {
  ++bazel_.interrupts;
  status_ = ExitStatus{.code = 8};
}

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
  EXPECT_EQ(result->status, "done");
  EXPECT_EQ(result->runs, 10);
  EXPECT_EQ(result->failed_runs, 4);
  EXPECT_EQ(result->trials, 10);
  EXPECT_EQ(result->wrapper, "//flaky/starve:starve");
  EXPECT_THAT(result->targets, ::testing::ElementsAre("//t:a_test"));

  std::vector<std::string> tests = bazel_.TestCommands();
  ASSERT_EQ(tests.size(), 2u);
  EXPECT_THAT(tests[0], HasSubstr("--runs_per_test=5 --run_under=//flaky/"
                                  "starve:starve --profile=none "
                                  "--record_file=/dev/null --"));
  EXPECT_THAT(tests[1], HasSubstr("--profile=hogs:2 --record_file=/dev/null --"));
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

TEST_F(HuntTest, WrapperFallsBackToTheExternalRepositoryLabel) {
  bazel_.labels = {"@flaky//flaky/starve:starve"};
  absl::StatusOr<HuntResult> result = Hunt();
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->wrapper, "@flaky//flaky/starve:starve");
  EXPECT_THAT(bazel_.TestCommands()[0],
              HasSubstr("--run_under=@flaky//flaky/starve:starve"));
}

TEST_F(HuntTest, MissingWrapperIsAClearError) {
  bazel_.labels = {};
  EXPECT_THAT(Hunt(), StatusIs(absl::StatusCode::kFailedPrecondition,
                               HasSubstr("the starve wrapper is not in this "
                                         "workspace (tried //flaky/starve:"
                                         "starve, @flaky//flaky/starve:starve)")));
  EXPECT_EQ(bazel_.invocations, 0);
}

TEST_F(HuntTest, InterruptStopsBazelKeepsCompletedTrialsAndMarksTheHunt) {
  options_.runs = 10;
  options_.batch_trials = 1000;  // nothing flushed before the stop
  bazel_.stop_after_runs = 3;
  absl::StatusOr<HuntResult> result = Hunt();
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->status, "interrupted");
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
  EXPECT_THAT(tests[0], HasSubstr("--profile=none "));
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

TEST_F(HuntTest, InProcessRepetitionMakesATrialPerIteration) {
  options_.repeat = 3;
  options_.runs = 2;
  bazel_.repeat_iterations = 3;
  bazel_.fails = [](int run) { return run == 1; };
  absl::StatusOr<HuntResult> result = Hunt();
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->mode, "in_process_repeat");
  EXPECT_EQ(result->trials, 6);
  EXPECT_THAT(bazel_.TestCommands()[0], HasSubstr("--test_arg=--gtest_repeat=3"));
  ASSERT_EQ(result->summaries.size(), 1u);
  EXPECT_EQ(result->summaries[0].trials, 6);
  EXPECT_EQ(result->summaries[0].failures, 1);
  EXPECT_EQ(result->summaries[0].mode, "in_process_repeat");
}

}  // namespace
}  // namespace flaky::runner
