#include "flaky/metrics/exporter.h"

#include <unistd.h>

#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "base/status_matchers.h"
#include "base/test_files.h"
#include "flaky/metrics/testing/http.h"
#include "flaky/metrics/testing/server_process.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::metrics {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::ReadFileOrEmpty;
using ::flaky::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr char kTarget[] = "//tests/race:already_running_original";
constexpr char kCase[] = "RunStringTest.AlreadyRunning";

results::Trial FailedTrial() {
  results::Trial trial;
  trial.target = kTarget;
  trial.test_case = kCase;
  trial.profile = "chaos:7";
  trial.outcome = results::Outcome::kFail;
  return trial;
}

Snapshot OneCase(int64_t failures, int64_t trials) {
  Snapshot snapshot;
  results::CaseSummary summary;
  summary.target = kTarget;
  summary.test_case = kCase;
  summary.profile = "chaos:7";
  summary.trials = trials;
  summary.failures = failures;
  summary.by_outcome[results::Outcome::kFail] = failures;
  summary.by_outcome[results::Outcome::kPass] = trials - failures;
  snapshot.summaries.push_back(summary);
  const double rate = static_cast<double>(failures) / trials;
  snapshot.assessments.cases.push_back(
      {kTarget, kCase, "chaos:7", rate, rate / 2, std::min(1.0, rate * 2), 12.5});
  snapshot.assessments.profiles.push_back({kTarget, "chaos:7", Verdict::kFlaky});
  return snapshot;
}

TEST(HuntExporter, ExportsLiveThenFinalStateToEveryOutput) {
  const testing::ServerSpec spec = testing::PushgatewaySpec(
      absl::StrCat(std::getenv("TEST_TMPDIR"), "/pushgateway.log"));
  auto gateway = testing::ServerProcess::Start(spec);
  ASSERT_THAT(gateway, IsOk()) << "install Debian's prometheus-pushgateway";

  ExportOptions options;
  options.metrics.commit = "680e56e";
  options.listen_address = "127.0.0.1:0";
  options.pushgateway_url = (*gateway)->url();
  options.push_interval = absl::Milliseconds(20);
  options.textfile_path = absl::StrCat(std::getenv("TEST_TMPDIR"), "/hunt.prom");
  auto exporter = HuntExporter::Start(options);
  ASSERT_THAT(exporter, IsOk());
  ASSERT_THAT((*exporter)->RecordTrial(FailedTrial()), IsOk());

  // Live: the endpoint and the periodic pushes show the trial already.
  const std::string trial_line = absl::StrCat(
      "outcome=\"fail\",profile=\"chaos:7\",target=\"", kTarget,
      "\",test_case=\"", kCase, "\"} 1");
  ASSERT_NE((*exporter)->endpoint(), nullptr);
  auto live = testing::HttpGet((*exporter)->endpoint()->url());
  ASSERT_THAT(live, IsOk());
  EXPECT_THAT(live->body, HasSubstr(trial_line));
  char host[256] = {};
  ASSERT_EQ(gethostname(host, sizeof(host) - 1), 0);
  const std::string group = absl::StrCat("commit=\"680e56e\",instance=\"", host,
                                         "\",job=\"flaky\"");
  EXPECT_THAT(testing::PollUntil("the periodic push", absl::Seconds(60),
                                 [&](std::string* note) {
                                   auto r = testing::HttpGet((*gateway)->url() + "/metrics");
                                   if (!r.ok()) *note = std::string(r.status().message());
                                   return r.ok() && r->body.find(group + ",outcome=\"fail\"") !=
                                                        std::string::npos;
                                 }),
              IsOk());

  // Final: rates reach the gateway and the textfile.
  Snapshot final_state = OneCase(37, 500);
  ASSERT_THAT((*exporter)->Finish(final_state.summaries, final_state.assessments), IsOk());
  const std::string rate_line = absl::StrCat("profile=\"chaos:7\",target=\"", kTarget,
                                             "\",test_case=\"", kCase, "\"} 0.074");
  auto pushed = testing::HttpGet((*gateway)->url() + "/metrics");
  ASSERT_THAT(pushed, IsOk());
  EXPECT_THAT(pushed->body, HasSubstr(absl::StrCat("flaky_flake_rate_ratio{", group, ",",
                                                   rate_line)));
  EXPECT_THAT(ReadFileOrEmpty(options.textfile_path),
              AllOf(HasSubstr(absl::StrCat("flaky_flake_rate_ratio{", rate_line)),
                    HasSubstr(absl::StrCat("flaky_amplification_ratio{profile=\"chaos:7\","
                                           "target=\"", kTarget, "\",test_case=\"", kCase,
                                           "\"} 12.5"))));
  EXPECT_THAT((*exporter)->Finish(final_state.summaries, final_state.assessments),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(HuntExporter, IsASinkOfTheTrialStream) {
  ExportOptions options;
  options.listen_address = "127.0.0.1:0";
  auto exporter = HuntExporter::Start(options);
  ASSERT_THAT(exporter, IsOk());
  results::TrialSink& sink = **exporter;
  results::Trial pass = FailedTrial();
  pass.outcome = results::Outcome::kPass;
  pass.duration = absl::Milliseconds(300);
  results::Trial fail = FailedTrial();
  fail.duration = absl::Milliseconds(20);
  ASSERT_THAT(sink.Accept({pass, fail}), IsOk());
  auto live = testing::HttpGet((*exporter)->endpoint()->url());
  ASSERT_THAT(live, IsOk());
  const std::string series = absl::StrCat("profile=\"chaos:7\",target=\"", kTarget, "\"");
  EXPECT_THAT(live->body,
              AllOf(HasSubstr(absl::StrCat("flaky_trial_duration_seconds_count{", series, "} 2")),
                    HasSubstr(absl::StrCat("flaky_trial_duration_seconds_sum{", series,
                                           "} 0.32")),
                    HasSubstr(absl::StrCat("flaky_trial_duration_seconds_bucket{", series,
                                           ",le=\"0.025\"} 1"))));
  results::Trial no_target;
  EXPECT_THAT(sink.Accept({no_target}), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(HuntExporter, ASnapshotSourceRefreshesEveryScrapeAndPush) {
  const testing::ServerSpec spec = testing::PushgatewaySpec(
      absl::StrCat(std::getenv("TEST_TMPDIR"), "/pushgateway2.log"));
  auto gateway = testing::ServerProcess::Start(spec);
  ASSERT_THAT(gateway, IsOk()) << "install Debian's prometheus-pushgateway";

  int64_t failures = 2;  // what the store holds so far
  ExportOptions options;
  options.listen_address = "127.0.0.1:0";
  options.pushgateway_url = (*gateway)->url();
  options.instance = "w1";
  options.push_interval = absl::ZeroDuration();
  options.snapshot = [&]() -> absl::StatusOr<Snapshot> { return OneCase(failures, 100); };
  auto exporter = HuntExporter::Start(options);
  ASSERT_THAT(exporter, IsOk());
  const std::string rate = absl::StrCat("flaky_flake_rate_ratio{profile=\"chaos:7\",target=\"",
                                        kTarget, "\",test_case=\"", kCase, "\"} ");
  auto first = testing::HttpGet((*exporter)->endpoint()->url());
  ASSERT_THAT(first, IsOk());
  EXPECT_THAT(first->body, HasSubstr(rate + "0.02\n"));
  failures = 9;
  auto second = testing::HttpGet((*exporter)->endpoint()->url());
  ASSERT_THAT(second, IsOk());
  EXPECT_THAT(second->body, HasSubstr(rate + "0.09\n"));
  failures = 12;
  ASSERT_THAT((*exporter)->Finish({}, {}), IsOk());
  auto pushed = testing::HttpGet((*gateway)->url() + "/metrics");
  ASSERT_THAT(pushed, IsOk());
  EXPECT_THAT(pushed->body,
              HasSubstr(absl::StrCat("flaky_flake_rate_ratio{commit=\"unknown\",instance=\"w1\","
                                     "job=\"flaky\",profile=\"chaos:7\",target=\"",
                                     kTarget, "\",test_case=\"", kCase, "\"} 0.12\n")));
}

TEST(HuntExporter, FinishReportsEveryFailedOutput) {
  auto port = testing::FreeLoopbackPort();
  ASSERT_THAT(port, IsOk());
  ExportOptions options;
  options.pushgateway_url = absl::StrCat("http://127.0.0.1:", *port);
  options.push_interval = absl::ZeroDuration();
  options.textfile_path = absl::StrCat(std::getenv("TEST_TMPDIR"), "/no/such/dir/x.prom");
  auto exporter = HuntExporter::Start(options);
  ASSERT_THAT(exporter, IsOk());
  EXPECT_THAT((*exporter)->Finish({}, {}),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr("cannot push to the Pushgateway"),
                             HasSubstr("; also: cannot create a temporary file in"))));
}

TEST(HuntExporter, StartRejectsBadOptions) {
  ExportOptions options;
  options.pushgateway_url = "127.0.0.1:9091";
  EXPECT_THAT(HuntExporter::Start(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("Pushgateway URL")));
  options = ExportOptions();
  options.listen_address = "0.0.0.0";
  EXPECT_THAT(HuntExporter::Start(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is not IPV4:PORT")));
  options = ExportOptions();
  options.push_interval = absl::Seconds(-1);
  EXPECT_THAT(HuntExporter::Start(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is negative")));
}

TEST(StoreServer, AnswersEveryScrapeFromTheSnapshot) {
  int64_t failures = 1;
  bool store_down = false;
  auto server = StoreServer::Start("127.0.0.1:0", MetricsOptions(),
                                   [&]() -> absl::StatusOr<Snapshot> {
                                     if (store_down) {
                                       return absl::UnavailableError("flaky.db is locked");
                                     }
                                     return OneCase(failures, 100);
                                   });
  ASSERT_THAT(server, IsOk());
  const std::string fail_series = absl::StrCat(
      "flaky_trials_total{outcome=\"fail\",profile=\"chaos:7\",target=\"", kTarget,
      "\",test_case=\"", kCase, "\"} ");
  auto first = testing::HttpGet((*server)->url());
  ASSERT_THAT(first, IsOk());
  EXPECT_THAT(first->body, HasSubstr(fail_series + "1\n"));
  failures = 5;  // the store gained trials between scrapes
  auto second = testing::HttpGet((*server)->url());
  ASSERT_THAT(second, IsOk());
  EXPECT_THAT(second->body, HasSubstr(fail_series + "5\n"));
  store_down = true;
  auto third = testing::HttpGet((*server)->url());
  ASSERT_THAT(third, IsOk());
  EXPECT_THAT(third->body, AllOf(HasSubstr(fail_series + "5\n"),
                                 HasSubstr("flaky_metrics_refresh_errors_total 1\n")));
  EXPECT_THAT((*server)->last_error(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("locked")));
}

}  // namespace
}  // namespace flaky::metrics
