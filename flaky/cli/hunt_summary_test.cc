#include "flaky/cli/hunt_summary.h"

#include <string>

#include "absl/time/time.h"
#include "flaky/results/summary.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::cli {
namespace {

using ::testing::HasSubstr;

TEST(FormatHuntSummary, OneRowPerCaseAndSignaturesBelow) {
  runner::HuntResult result;
  result.hunt_id = "h1";
  result.status = results::HuntStatus::kDone;
  result.mode = results::HuntMode::kBazelRuns;
  result.store_path = "/ws/flaky.db";
  result.runs = 40;
  result.failed_runs = 12;
  result.trials = 120;
  result.elapsed = absl::Seconds(25);
  results::CaseSummary pass;
  pass.target = "//t:a";
  pass.test_case = "Fixture.AlwaysPasses";
  pass.profile = "none";
  pass.trials = 40;
  results::CaseSummary fail = pass;
  fail.test_case = "Fixture.FailsOnSchedule";
  fail.failures = 12;
  fail.signatures.push_back({.signature = "f.cc:44 | failure in run N",
                             .count = 12,
                             .example_message = "f.cc:44\nfailure in run 3",
                             .first_log_path = "/ws/flaky.db.logs/t_a/h1.log",
                             .seed = 7,
                             .first_run = 3});
  result.summaries = {pass, fail};
  const std::string text = FormatHuntSummary(result);
  EXPECT_THAT(text, HasSubstr("flaky: hunt h1 done: 40 runs, 12 failed, 120 "
                              "trials in 0:25 (bazel_runs); store /ws/flaky.db\n"));
  EXPECT_THAT(text, HasSubstr("//t:a   Fixture.FailsOnSchedule  none          "
                              "40       12    30.0%\n"));
  EXPECT_THAT(text, HasSubstr("    12x f.cc:44 | failure in run N\n"));
  EXPECT_THAT(text, HasSubstr("first failing log (run 3): "
                              "/ws/flaky.db.logs/t_a/h1.log\n"));
  EXPECT_THAT(text, HasSubstr("chaos seed: 7\n"));
}

}  // namespace
}  // namespace flaky::cli
