#include "flaky/report/commands.h"

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "base/status_matchers.h"
#include "flaky/report/sample_report.h"
#include "flaky/results/store.h"
#include "flaky/results/summary.h"
#include "flaky/results/trial.h"
#include "flaky/stats/verdict.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "pugixml.hpp"

namespace flaky::report {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::StatusIs;
using ::testing::HasSubstr;

std::string TempPath(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/", name);
}

// Stores `runs` trials of one case in a real SQLite store, failing at the
// given run numbers; the tests read summaries back with the store's SQL.
void AddTrials(results::Store& store, const std::string& target,
               const std::string& test_case, const std::string& profile, int runs,
               const std::vector<int>& failing_runs) {
  std::vector<results::Trial> trials;
  for (int run = 1; run <= runs; ++run) {
    results::Trial t;
    t.hunt_id = "hunt-1";
    t.target = target;
    t.test_case = test_case;
    t.profile = profile;
    t.run = run;
    t.started_at = absl::FromUnixSeconds(1795795200) + absl::Seconds(run);
    t.duration = absl::Milliseconds(30);
    t.host = "ci-worker-7";
    t.commit = "1a2b3c4d";
    for (int failing : failing_runs) {
      if (failing == run) {
        t.outcome = results::Outcome::kFail;
        t.failure_message = "RuntimeError not raised";
        t.failure_signature = "RuntimeError not raised";
        t.seed = 1000 + run;
        t.log_path = absl::StrCat("/logs/", target.substr(4), "/run_", run, ".log");
      }
    }
    trials.push_back(t);
  }
  ASSERT_THAT(store.InsertTrials(trials), IsOk());
}

class GateEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    results::StoreOptions options;
    options.keep_logs = false;
    absl::StatusOr<std::unique_ptr<results::Store>> store =
        results::Store::Open(
            TempPath(absl::StrCat(
                ::testing::UnitTest::GetInstance()->current_test_info()->name(), ".db")),
            options);
    ASSERT_THAT(store, IsOk());
    store_ = *std::move(store);
    results::HuntRecord hunt;
    hunt.id = "hunt-1";
    hunt.mode = "bazel_runs";
    ASSERT_THAT(store_->BeginHunt(hunt), IsOk());
    // A clean target with enough runs for "below 0.1% at 95%" (3332), a
    // flaky one, and one with too few runs to tell.
    AddTrials(*store_, "//t:clean", "Clean.Ok", "none", 3400, {});
    AddTrials(*store_, "//t:flaky", "Flaky.Race", "chaos:1", 40, {5, 17, 33});
    AddTrials(*store_, "//t:undecided", "Undecided.Maybe", "none", 100, {});
  }

  ReportRequest Request(const std::vector<std::string>& targets) {
    results::Filter filter;
    filter.targets = targets;
    absl::StatusOr<std::vector<results::CaseSummary>> summaries = store_->Summarize(filter);
    EXPECT_THAT(summaries, IsOk());
    ReportRequest request;
    request.title = "gate";
    if (summaries.ok()) request.summaries = *summaries;
    request.metadata.mode = results::HuntMode::kBazelRuns;
    request.metadata.gate.max_rate = 0.001;
    request.metadata.gate.confidence = 0.95;
    return request;
  }

  std::unique_ptr<results::Store> store_;
};

TEST_F(GateEndToEndTest, ExitCodesForCleanFlakyAndUndecidedTargets) {
  absl::StatusOr<ReportRun> clean = RunReport(Request({"//t:clean"}));
  ASSERT_THAT(clean, IsOk());
  EXPECT_EQ(clean->gate_exit_code, stats::kGateExitClean) << clean->terminal;
  absl::StatusOr<ReportRun> flaky = RunReport(Request({"//t:flaky"}));
  ASSERT_THAT(flaky, IsOk());
  EXPECT_EQ(flaky->gate_exit_code, stats::kGateExitFlaky) << flaky->terminal;
  absl::StatusOr<ReportRun> undecided = RunReport(Request({"//t:undecided"}));
  ASSERT_THAT(undecided, IsOk());
  EXPECT_EQ(undecided->gate_exit_code, stats::kGateExitInconclusive) << undecided->terminal;
  EXPECT_THAT(undecided->terminal,
              HasSubstr("3232 more runs without a failure would make it CLEAN"));
  absl::StatusOr<ReportRun> all = RunReport(Request({}));
  ASSERT_THAT(all, IsOk());
  EXPECT_EQ(all->gate_exit_code, stats::kGateExitFlaky);
}

TEST_F(GateEndToEndTest, WritesReportsWithTheStoredSignatureAndSeed) {
  ReportRequest request = Request({"//t:flaky", "//t:clean"});
  request.report_dir = TempPath("gate-out");
  absl::StatusOr<ReportRun> run = RunReport(request);
  ASSERT_THAT(run, IsOk());
  ASSERT_TRUE(run->files.has_value());
  std::ifstream in(run->files->json);
  const nlohmann::json doc = nlohmann::json::parse(in);
  EXPECT_EQ(doc["gate"]["exit_code"], 1);
  bool seen = false;
  for (const nlohmann::json& row : doc["rows"]) {
    if (row["target"] != "//t:flaky") continue;
    seen = true;
    EXPECT_EQ(row["failures"], 3);
    EXPECT_EQ(row["trials_to_first_failure"], 5);
    EXPECT_EQ(row["signatures"][0]["signature"], "RuntimeError not raised");
    EXPECT_EQ(row["signatures"][0]["count"], 3);
    EXPECT_EQ(row["signatures"][0]["seed"], "1005");
    EXPECT_EQ(row["signatures"][0]["first_log_path"], "/logs/flaky/run_5.log");
  }
  EXPECT_TRUE(seen);
  pugi::xml_document junit;
  ASSERT_TRUE(junit.load_file(run->files->junit.c_str()));
  EXPECT_EQ(junit.select_nodes("//testcase[failure]").size(), 1u);
}

TEST(RunReport, NoSummariesIsAnEnvironmentError) {
  EXPECT_THAT(RunReport(ReportRequest{}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("no trials to report")));
}

TEST(RunReport, IncludesRequestedFixVerifications) {
  ReportRequest request;
  request.summaries = SampleReport().rows;
  request.metadata = SampleReport().metadata;
  FixRequest fix;
  fix.baseline_target = "//tests/race:already_running_original";
  fix.candidate_target = "//tests/race:already_running_fixed";
  fix.profile = "chaos:7";
  request.fixes = {fix};
  absl::StatusOr<ReportRun> run = RunReport(request);
  ASSERT_THAT(run, IsOk());
  ASSERT_EQ(run->report.fixes.size(), 1u);
  EXPECT_DOUBLE_EQ(run->report.fixes[0].verification.alpha, 1.0 - 0.95);
  EXPECT_THAT(run->terminal, HasSubstr("Fix verification"));
  request.fixes[0].profile = "hogs:9";
  EXPECT_THAT(RunReport(request), StatusIs(absl::StatusCode::kNotFound));
}

TEST(RunVerify, ComparesEverySharedProfileNoneFirst) {
  VerifyRequest request;
  request.baseline_target = "//tests/race:already_running_original";
  request.candidate_target = "//tests/race:already_running_fixed";
  absl::StatusOr<VerifyRun> run = RunVerify(SampleReport().rows, request);
  ASSERT_THAT(run, IsOk());
  ASSERT_EQ(run->comparisons.size(), 3u);
  EXPECT_EQ(run->comparisons[0].profile, "none");
  EXPECT_FALSE(run->comparisons[0].verification.decided);  // 2/500 vs 0/500
  // Fisher's single look finds cgroup:20's 12/500 against 0/500 lower, but
  // 500 clean runs do not make the candidate CLEAN: only chaos:7 (0/3400)
  // verifies the fix by the rule.
  EXPECT_TRUE(run->comparisons[1].verification.decided);
  EXPECT_EQ(run->verified, (std::vector<bool>{false, false, true}));
  EXPECT_EQ(run->exit_code, 2);
  EXPECT_THAT(run->text, HasSubstr("Not verified yet: the baseline is FLAKY and the "
                                   "candidate CLEAN under 1 of 3 profiles"));
  EXPECT_THAT(run->text, HasSubstr("under chaos:7: baseline FLAKY"));
  EXPECT_THAT(run->text, HasSubstr("candidate CLEAN (AlreadyRunning.Fixed: 0 of 3400 runs"));

  request.profiles = {"chaos:7"};
  run = RunVerify(SampleReport().rows, request);
  ASSERT_THAT(run, IsOk());
  EXPECT_EQ(run->exit_code, 0);
  EXPECT_THAT(run->text, HasSubstr("Verified: the baseline is FLAKY and the candidate "
                                   "CLEAN under every profile"));
}

TEST(RunVerify, ExplainsMissingSides) {
  VerifyRequest request;
  request.baseline_target = "//tests/race:already_running_original";
  request.candidate_target = "//tests/race:nope";
  EXPECT_THAT(RunVerify(SampleReport().rows, request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("share no profile")));
  request.candidate_target = "//tests/race:already_running_fixed";
  request.profiles = {"taskset:0"};
  EXPECT_THAT(RunVerify(SampleReport().rows, request),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("taskset:0")));
  request.profiles = {};
  request.alpha = 0;
  EXPECT_THAT(RunVerify(SampleReport().rows, request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("alpha")));
}

}  // namespace
}  // namespace flaky::report
