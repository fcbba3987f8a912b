#include "flaky/metrics/exposer.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "flaky/base/status_matchers.h"
#include "flaky/metrics/metrics.h"
#include "flaky/metrics/testing/http.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"

namespace flaky::metrics {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::StatusIs;
using ::testing::HasSubstr;

TEST(MetricsEndpoint, ServesMetricsOnAnOsChosenPort) {
  auto registry = std::make_shared<prometheus::Registry>();
  auto metrics = FlakyMetrics::Create(*registry, MetricsOptions());
  ASSERT_THAT(metrics, IsOk());
  results::Trial trial;
  trial.target = "//tests/race:already_running_original";
  trial.test_case = "RunStringTest.AlreadyRunning";
  trial.profile = "chaos:7";
  trial.outcome = results::Outcome::kFail;
  ASSERT_THAT((*metrics)->RecordTrial(trial), IsOk());

  auto endpoint = MetricsEndpoint::Start("127.0.0.1:0", registry);
  ASSERT_THAT(endpoint, IsOk());
  EXPECT_GT((*endpoint)->port(), 0);
  EXPECT_EQ((*endpoint)->url(),
            absl::StrCat("http://127.0.0.1:", (*endpoint)->port(), "/metrics"));

  auto response = testing::HttpGet((*endpoint)->url());
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->code, 200);
  EXPECT_THAT(response->body,
              HasSubstr("flaky_trials_total{outcome=\"fail\",profile=\"chaos:7\","
                        "target=\"//tests/race:already_running_original\","
                        "test_case=\"RunStringTest.AlreadyRunning\"} 1"));
}

TEST(MetricsEndpoint, ReportsAPortInUse) {
  auto registry = std::make_shared<prometheus::Registry>();
  auto first = MetricsEndpoint::Start("127.0.0.1:0", registry);
  ASSERT_THAT(first, IsOk());
  const std::string address = absl::StrCat("127.0.0.1:", (*first)->port());
  EXPECT_THAT(MetricsEndpoint::Start(address, registry),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr(absl::StrCat("cannot listen on ", address))));
}

TEST(MetricsEndpoint, RejectsAMalformedAddress) {
  auto registry = std::make_shared<prometheus::Registry>();
  for (const char* address : {"localhost", "127.0.0.1", "127.0.0.1:70000",
                              "127.0.0.1:x", "example.com:80", ":9477"}) {
    EXPECT_THAT(MetricsEndpoint::Start(address, registry),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("is not IPV4:PORT")))
        << address;
  }
}

}  // namespace
}  // namespace flaky::metrics
