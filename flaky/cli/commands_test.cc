// The `flaky` commands against a scripted Bazel (runner/testing/
// fake_bazel.h) on a manual clock, with a real SQLite store under
// TEST_TMPDIR: what each prints and returns, and what the hunting ones
// store.
#include "flaky/cli/commands.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "base/status_matchers.h"
#include "flaky/metrics/testing/http.h"
#include "flaky/results/store.h"
#include "flaky/runner/clock.h"
#include "flaky/runner/recovery.h"
#include "flaky/runner/testing/fake_bazel.h"
#include "flaky/stats/anytime.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::cli {
namespace {

using ::flaky::runner::testing::FakeBazel;
using ::flaky::testing::IsOk;
using ::flaky::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

// Returns(code) matches a command's result that is OK with exit `code`.
MATCHER_P(Returns, code, absl::StrCat("returns exit code ", code)) {
  if (!arg.ok()) {
    *result_listener << "failed: " << arg.status();
    return false;
  }
  *result_listener << "returned " << *arg;
  return *arg == code;
}

class CommandsTest : public ::testing::Test {
 protected:
  CommandsTest()
      : clock_(absl::FromCivil(absl::CivilSecond(2026, 12, 2, 9, 30, 0),
                               absl::UTCTimeZone())),
        dir_(absl::StrCat(std::getenv("TEST_TMPDIR"), "/",
                          ::testing::UnitTest::GetInstance()
                              ->current_test_info()
                              ->name())),
        bazel_(clock_, dir_) {
    mkdir(dir_.c_str(), 0755);
    mkdir((dir_ + "/ws").c_str(), 0755);
    std::ofstream(dir_ + "/ws/WORKSPACE") << "workspace(name = \"t\")\n";
    context_.workspace = dir_ + "/ws";
    context_.user_directory = dir_;
    context_.store_path = dir_ + "/flaky.db";
    context_.hunt_id = "h1";
    context_.hunt_id_given = true;
    context_.host = "host-1";
    context_.commit = "abc123";
    hunt_.targets = {"//t:a_test"};
    hunt_.runs = 5;
    hunt_.bazel.bazel = "/bin/sh";  // must exist; the launcher is fake
    bazel_.stop = &stop_;
  }

  Io MakeIo() {
    return {.out = &out_, .err = &err_, .err_is_tty = false,
            .launcher = &bazel_, .clock = &clock_, .stop = &stop_};
  }

  std::vector<results::HuntRecord> Hunts() {
    absl::StatusOr<std::unique_ptr<results::Store>> store =
        results::Store::Open(context_.store_path);
    EXPECT_THAT(store, IsOk());
    if (!store.ok()) return {};
    absl::StatusOr<std::vector<results::HuntRecord>> hunts = (*store)->ListHunts();
    EXPECT_THAT(hunts, IsOk());
    return hunts.ok() ? *hunts : std::vector<results::HuntRecord>{};
  }

  runner::ManualClock clock_;
  std::string dir_;
  FakeBazel bazel_;
  Context context_;
  HuntCommandOptions hunt_;
  std::ostringstream out_;
  std::ostringstream err_;
  std::atomic<bool> stop_{false};
};

TEST_F(CommandsTest, HuntRecordsUnderTheContextAndPrintsTheReport) {
  hunt_.profiles = {"none", "hogs:2"};
  hunt_.report_dir = "out";
  bazel_.fails_under = [](const std::string& profile, int run) {
    return profile == "hogs:2" && run % 2 == 0;
  };
  EXPECT_THAT(HuntCommand(hunt_, context_, MakeIo()), Returns(0));
  const std::string out = out_.str();
  EXPECT_THAT(out, HasSubstr("flaky: hunt h1 done: 10 runs, 2 failed, 10 trials"));
  // The report's metadata: mode, host, the hunt's date and the family.
  EXPECT_THAT(out, HasSubstr("mode bazel_runs, commit abc123, host host-1, 2026-12-02 09:30 UTC"));
  EXPECT_THAT(out, HasSubstr("FLAKY family-wise over 2 (Holm)"));
  EXPECT_THAT(out, HasSubstr("flaky: report written to " + dir_ + "/out/report.md"));
  std::vector<results::HuntRecord> hunts = Hunts();
  ASSERT_EQ(hunts.size(), 1u);
  EXPECT_EQ(hunts[0].id, "h1");
  EXPECT_EQ(hunts[0].commit, "abc123");
  EXPECT_EQ(hunts[0].host, "host-1");
  EXPECT_EQ(hunts[0].status, "done");
}

TEST_F(CommandsTest, HuntFeedsEveryTrialToTheMetrics) {
  hunt_.metrics.textfile = "hunt.prom";
  bazel_.case_seconds = 0.25;
  bazel_.fails = [](int run) { return run == 3; };
  ASSERT_THAT(HuntCommand(hunt_, context_, MakeIo()), Returns(0));
  std::ifstream in(dir_ + "/hunt.prom");
  std::stringstream textfile;
  textfile << in.rdbuf();
  const std::string series = "profile=\"none\",target=\"//t:a_test\"";
  EXPECT_THAT(textfile.str(), HasSubstr("flaky_trial_duration_seconds_count{" + series + "} 5"));
  EXPECT_THAT(textfile.str(),
              HasSubstr("flaky_trial_duration_seconds_bucket{" + series + ",le=\"0.25\"} 5"));
  EXPECT_THAT(textfile.str(),
              HasSubstr("flaky_trial_duration_seconds_bucket{" + series + ",le=\"0.1\"} 0"));
  EXPECT_THAT(textfile.str(), HasSubstr("flaky_trials_total{outcome=\"fail\"," + series +
                                        ",test_case=\"Suite.Race\"} 1"));
  // The final state is the report's: the verdict of (target, profile).
  EXPECT_THAT(textfile.str(), HasSubstr("flaky_verdict_state{" + series +
                                        ",verdict=\"inconclusive\"} 1"));
  EXPECT_THAT(textfile.str(), HasSubstr("flaky_build_info{commit=\"abc123\""));
}

TEST_F(CommandsTest, HuntSplitsProfilesAtTheirOwnCommas) {
  // The flag parser cut "chaos:1,p=50" at its comma.
  hunt_.profiles = {"none", "chaos:1", "p=50"};
  ASSERT_THAT(HuntCommand(hunt_, context_, MakeIo()), IsOk());
  ASSERT_EQ(bazel_.TestCommands().size(), 2u);
  EXPECT_THAT(bazel_.TestCommands()[1], HasSubstr("--profile=chaos:1,p=50 "));
}

TEST_F(CommandsTest, UntilDecidedStopsOnTheReportsRule) {
  // A clean test is CLEAN below 20% after 16 runs (anytime.h), so rounds
  // of 10 stop after 20 of the 100 allowed.
  hunt_.until_decided = true;
  hunt_.runs = 100;
  hunt_.round_runs = 10;
  hunt_.gate.max_rate = 0.2;
  ASSERT_THAT(GateCommand(hunt_, context_, MakeIo()), Returns(0));
  EXPECT_THAT(out_.str(), HasSubstr("flaky: hunt h1 done: 20 runs, 0 failed"));
  EXPECT_THAT(out_.str(), HasSubstr("Gate: CLEAN"));
}

TEST_F(CommandsTest, UntilDecidedWithoutRunsAllowsTheRunsCleanTakes) {
  hunt_.until_decided = true;
  hunt_.runs = 0;
  hunt_.repeat = 1;
  hunt_.gate.max_rate = 0.01;
  ASSERT_THAT(GateCommand(hunt_, context_, MakeIo()), Returns(0));
  absl::StatusOr<int64_t> clean = stats::AnytimeRunsToClean(0.01, 0.95);
  ASSERT_THAT(clean, IsOk());
  EXPECT_THAT(err_.str(), HasSubstr(absl::StrCat("up to ", *clean, " runs each")));
  EXPECT_THAT(out_.str(), HasSubstr("Gate: CLEAN"));
}

TEST_F(CommandsTest, AutoSearchNamesTheWinnerAndStandsAlone) {
  hunt_.profiles = {"auto"};
  hunt_.runs = 30;
  bazel_.fails_under = [](const std::string& profile, int) { return profile == "hogs:2"; };
  bazel_.unappliable = {"cgroup:20"};
  ASSERT_THAT(HuntCommand(hunt_, context_, MakeIo()), IsOk());
  EXPECT_THAT(out_.str(), HasSubstr("auto: winner hogs:2"));
  // FLAKY is corrected over every arm searched (HuntFamilySize: 5 arms).
  EXPECT_THAT(out_.str(), HasSubstr("FLAKY family-wise over 5 (Holm)"));

  hunt_.profiles = {"auto", "none"};
  EXPECT_THAT(HuntCommand(hunt_, context_, MakeIo()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--profiles=auto searches its own profiles")));
}

TEST_F(CommandsTest, InterruptedHuntIsCancelledWithWhatWasStored) {
  hunt_.runs = 10;
  bazel_.stop_after_runs = 3;
  EXPECT_THAT(HuntCommand(hunt_, context_, MakeIo()),
              StatusIs(absl::StatusCode::kCancelled,
                       "interrupted: 3 trials of 3 completed runs are in " +
                           context_.store_path));
  EXPECT_EQ(Hunts()[0].status, "interrupted");
}

TEST_F(CommandsTest, BadOptionsAreUsageErrors) {
  hunt_.gate.confidence = 1.5;
  EXPECT_THAT(HuntCommand(hunt_, context_, MakeIo()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("bad --max_rate/--confidence")));
  hunt_ = HuntCommandOptions();
  EXPECT_THAT(GateCommand(hunt_, context_, MakeIo()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no targets")));
  hunt_.targets = {"//t:a_test"};
  hunt_.bazel.bazel = "/bin/sh";
  hunt_.fixes = {"//t:a_test"};
  EXPECT_THAT(HuntCommand(hunt_, context_, MakeIo()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--fixes entry '//t:a_test' is not ORIGINAL=FIXED")));
}

TEST_F(CommandsTest, GateExitsWithTheVerdict) {
  hunt_.runs = 5;
  hunt_.gate.max_rate = 0.01;
  bazel_.fails = [](int) { return true; };
  EXPECT_THAT(GateCommand(hunt_, context_, MakeIo()), Returns(1));
  EXPECT_THAT(out_.str(), HasSubstr("Gate: FLAKY"));

  context_.hunt_id = "h2";
  bazel_.fails = [](int) { return false; };
  EXPECT_THAT(GateCommand(hunt_, context_, MakeIo()), Returns(2));
  EXPECT_THAT(out_.str(), HasSubstr("Gate: INCONCLUSIVE"));
}

TEST_F(CommandsTest, VerifyJudgesBothSidesByTheReportsRule) {
  bazel_.query_output = "cc_test rule //t:orig\ncc_test rule //t:fixed\n";
  bazel_.fails_for = [](const std::string& target, const std::string&, int) {
    return target == "//t:orig";
  };
  VerifyCommandOptions verify{.baseline = "//t:orig", .candidate = "//t:fixed",
                              .hunt = hunt_};
  verify.hunt.targets = {};
  verify.hunt.runs = 20;
  verify.hunt.gate.max_rate = 0.2;
  EXPECT_THAT(VerifyCommand(verify, context_, MakeIo()), Returns(0));
  EXPECT_THAT(out_.str(), HasSubstr("under none: baseline FLAKY"));
  EXPECT_THAT(out_.str(), HasSubstr("over the maximum 20%"));
  EXPECT_THAT(out_.str(), HasSubstr("Verified: the baseline is FLAKY and the "
                                    "candidate CLEAN under every profile"));
  // Both sides ran in the same Bazel invocation.
  ASSERT_EQ(bazel_.TestCommands().size(), 1u);
  EXPECT_THAT(bazel_.TestCommands()[0], HasSubstr("-- //t:fixed //t:orig"));

  context_.hunt_id = "h2";
  verify.hunt.runs = 2;
  EXPECT_THAT(VerifyCommand(verify, context_, MakeIo()), Returns(2));
  EXPECT_THAT(out_.str(), HasSubstr("Not verified yet"));

  verify.hunt.targets = {"//t:other"};
  EXPECT_THAT(VerifyCommand(verify, context_, MakeIo()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("usage: flaky verify")));
}

TEST_F(CommandsTest, PlanPrintsTheRunsOrTheRule) {
  PlanCommandOptions plan;
  EXPECT_THAT(PlanCommand(plan, context_, MakeIo()), Returns(0));
  EXPECT_THAT(out_.str(), HasSubstr("To claim rate below 0.1% at 95%: 3332 runs"));
  out_.str("");
  plan.boundaries = true;
  plan.up_to = 2;
  EXPECT_THAT(PlanCommand(plan, context_, MakeIo()), Returns(0));
  EXPECT_EQ(out_.str(), "runs flaky_at_failures clean_at_most_failures\n1 1 -1\n2 1 -1\n");
  plan.args = {"extra"};
  EXPECT_THAT(PlanCommand(plan, context_, MakeIo()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("usage: flaky plan")));
  plan = PlanCommandOptions();
  plan.gate.max_rate = 2;
  EXPECT_THAT(PlanCommand(plan, context_, MakeIo()),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(CommandsTest, ReportReadsTheStoreWithoutRunningAnything) {
  ReportCommandOptions report;
  EXPECT_THAT(ReportCommand(report, context_, MakeIo()),
              StatusIs(absl::StatusCode::kNotFound,
                       "no store at " + context_.store_path +
                           ": run `flaky hunt` first or pass --store"));
  ASSERT_THAT(HuntCommand(hunt_, context_, MakeIo()), IsOk());
  context_.hunt_id = "h2";
  ASSERT_THAT(HuntCommand(hunt_, context_, MakeIo()), IsOk());
  const size_t commands = bazel_.commands.size();

  out_.str("");
  context_.hunt_id_given = false;  // every hunt
  EXPECT_THAT(ReportCommand(report, context_, MakeIo()), Returns(0));
  EXPECT_THAT(out_.str(), HasSubstr("flaky report " + context_.store_path));
  EXPECT_THAT(out_.str(), HasSubstr("mode bazel_runs, host host-1"));
  EXPECT_THAT(out_.str(), HasSubstr("//t:a_test  Suite.Race  none         10"));
  EXPECT_EQ(bazel_.commands.size(), commands);

  out_.str("");
  context_.hunt_id_given = true;  // h2 only
  EXPECT_THAT(ReportCommand(report, context_, MakeIo()), Returns(0));
  EXPECT_THAT(out_.str(), HasSubstr("//t:a_test  Suite.Race  none          5"));

  report.targets = {"//t:other"};
  EXPECT_THAT(ReportCommand(report, context_, MakeIo()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("no trials to report")));
}

TEST_F(CommandsTest, ReportFirstSettlesTheHuntsWhoseProcessDied) {
  ASSERT_THAT(HuntCommand(hunt_, context_, MakeIo()), IsOk());
  // A hunt whose process died before it stored anything: its owner is a
  // child that exited, and its round holds what h1's Bazel reported.
  const pid_t child = fork();
  if (child == 0) _exit(0);
  ASSERT_EQ(waitpid(child, nullptr, 0), child);
  {
    absl::StatusOr<std::unique_ptr<results::Store>> store =
        results::Store::Open(context_.store_path);
    ASSERT_THAT(store, IsOk());
    results::HuntRecord dead;
    dead.id = "dead";
    dead.started_at = clock_.Now();
    dead.host = "host-1";
    dead.mode = "bazel_runs";
    dead.owner_pid = child;
    dead.owner_start_ticks = 1;
    ASSERT_THAT((*store)->BeginHunt(dead), IsOk());
  }
  const std::string work_dir = context_.store_path + ".hunts/dead";
  ASSERT_EQ(mkdir(work_dir.c_str(), 0755), 0);
  std::ifstream bep(context_.store_path + ".hunts/h1/round1.bep.json");
  std::ofstream(runner::RoundStem(work_dir, 1) + ".bep.json") << bep.rdbuf();
  ASSERT_THAT(runner::WriteRoundRecord(runner::RoundRecordPath(work_dir, 1),
                                       {.round = 1,
                                        .context = {.hunt_id = "dead",
                                                    .profile = "none",
                                                    .commit = "abc123",
                                                    .host = "host-1",
                                                    .in_process_repeat = false},
                                        .targets = {"//t:a_test"},
                                        .runs = 5,
                                        .run_offset = 0,
                                        .max_log_bytes = 1 << 20,
                                        .bep_path = work_dir + "/round1.bep.json"}),
              IsOk());

  out_.str("");
  err_.str("");
  context_.hunt_id_given = false;
  EXPECT_THAT(ReportCommand({}, context_, MakeIo()), Returns(0));
  EXPECT_EQ(err_.str(), absl::StrCat("flaky: hunt dead was abandoned (its process ", child,
                                     " died): recovered 5 runs (5 trials) from Bazel's "
                                     "build events\n"));
  EXPECT_THAT(out_.str(), HasSubstr("//t:a_test  Suite.Race  none         10"));
  std::vector<results::HuntRecord> hunts = Hunts();
  ASSERT_EQ(hunts.size(), 2u);
  EXPECT_EQ(hunts[1].status, absl::StrCat("abandoned: its process ", child, " died"));
  // Settled once: the next report has nothing to say.
  err_.str("");
  EXPECT_THAT(ReportCommand({}, context_, MakeIo()), Returns(0));
  EXPECT_EQ(err_.str(), "");
}

// ScrapingClock scrapes the URL `serve` printed at its first wait, then
// asks it to stop, as Ctrl-C would.
class ScrapingClock : public runner::ManualClock {
 public:
  ScrapingClock(std::ostringstream& out, std::atomic<bool>& stop)
      : ManualClock(absl::UnixEpoch()), out_(out), stop_(stop) {}

  void SleepFor(absl::Duration duration) override {
    ManualClock::SleepFor(duration);
    if (stop_.load()) return;
    const std::string text = out_.str();
    const size_t at = text.find("http://");
    const std::string url = text.substr(at, text.find(' ', at) - at);
    absl::StatusOr<metrics::testing::HttpResponse> response =
        metrics::testing::HttpGet(url);
    scraped = response.ok() ? response->body : response.status().ToString();
    stop_.store(true);
  }

  std::string scraped;

 private:
  std::ostringstream& out_;
  std::atomic<bool>& stop_;
};

TEST_F(CommandsTest, ServeAnswersScrapesFromTheStoreUntilStopped) {
  ServeCommandOptions serve{.args = {}, .address = "127.0.0.1:0", .gate = {}};
  EXPECT_THAT(ServeCommand(serve, context_, MakeIo()),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no store at")));
  ASSERT_THAT(HuntCommand(hunt_, context_, MakeIo()), IsOk());

  out_.str("");
  ScrapingClock clock(out_, stop_);
  Io io = MakeIo();
  io.clock = &clock;
  EXPECT_THAT(ServeCommand(serve, context_, io), Returns(0));
  EXPECT_THAT(out_.str(), HasSubstr("flaky serve: metrics of " + context_.store_path +
                                    " at http://127.0.0.1:"));
  EXPECT_THAT(clock.scraped,
              HasSubstr("flaky_trials_total{outcome=\"pass\",profile=\"none\","
                        "target=\"//t:a_test\",test_case=\"Suite.Race\"} 5"));

  serve.args = {"//t:a_test"};
  EXPECT_THAT(ServeCommand(serve, context_, MakeIo()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("usage: flaky serve")));
  serve.args = {};
  serve.address = "nonsense";
  EXPECT_THAT(ServeCommand(serve, context_, MakeIo()),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace flaky::cli
