#include "flaky/metrics/pusher.h"

#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "base/status_matchers.h"
#include "flaky/metrics/metrics.h"
#include "flaky/metrics/testing/http.h"
#include "flaky/metrics/testing/server_process.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

namespace flaky::metrics {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

class PusherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const testing::ServerSpec spec = testing::PushgatewaySpec(
        absl::StrCat(std::getenv("TEST_TMPDIR"), "/pushgateway.log"));
    auto gateway = testing::ServerProcess::Start(spec);
    ASSERT_THAT(gateway, IsOk()) << "install Debian's prometheus-pushgateway";
    gateway_ = std::move(gateway).value();
  }

  std::string GatewayMetrics() {
    auto response = testing::HttpGet(gateway_->url() + "/metrics");
    EXPECT_THAT(response, IsOk());
    return response.ok() ? response->body : "";
  }

  std::unique_ptr<testing::ServerProcess> gateway_;
};

std::shared_ptr<prometheus::Registry> RegistryWithTrial(results::Outcome outcome) {
  auto registry = std::make_shared<prometheus::Registry>();
  auto metrics = FlakyMetrics::Create(*registry, MetricsOptions());
  EXPECT_THAT(metrics, IsOk());
  results::Trial trial;
  trial.target = "//tests/race:already_running_original";
  trial.test_case = "RunStringTest.AlreadyRunning";
  trial.profile = "hogs:2";
  trial.outcome = outcome;
  EXPECT_THAT((*metrics)->RecordTrial(trial), IsOk());
  return registry;
}

TEST_F(PusherTest, PushGroupsByJobInstanceAndCommit) {
  auto registry = RegistryWithTrial(results::Outcome::kFail);
  PushOptions options;
  options.url = gateway_->url();
  options.instance = "ci/worker 3";  // a slash and a space survive base64
  options.commit = "8cd9e98";
  auto pusher = Pusher::Create(options, registry);
  ASSERT_THAT(pusher, IsOk());
  ASSERT_THAT((*pusher)->Push(), IsOk());
  EXPECT_THAT(GatewayMetrics(),
              HasSubstr("flaky_trials_total{commit=\"8cd9e98\",instance=\"ci/worker 3\","
                        "job=\"flaky\",outcome=\"fail\",profile=\"hogs:2\","
                        "target=\"//tests/race:already_running_original\","
                        "test_case=\"RunStringTest.AlreadyRunning\"} 1"));
  // Another worker adds a group instead of replacing the first.
  options.instance = "ci/worker 4";
  auto other_registry = RegistryWithTrial(results::Outcome::kPass);
  auto other = Pusher::Create(options, other_registry);
  ASSERT_THAT(other, IsOk());
  ASSERT_THAT((*other)->Push(), IsOk());
  const std::string both = GatewayMetrics();
  EXPECT_THAT(both, HasSubstr("instance=\"ci/worker 3\",job=\"flaky\",outcome=\"fail\""));
  EXPECT_THAT(both, HasSubstr("instance=\"ci/worker 4\",job=\"flaky\",outcome=\"pass\""));
  ASSERT_THAT((*other)->Delete(), IsOk());
  // The Pushgateway answers a delete with 202 Accepted and applies it
  // afterwards: wait for it (reading at once sometimes still saw it).
  EXPECT_THAT(testing::PollUntil("the deleted group to go", absl::Seconds(30),
                                 [&](std::string* note) {
                                   *note = GatewayMetrics();
                                   return !absl::StrContains(*note,
                                                             "instance=\"ci/worker 4\"");
                                 }),
              IsOk());
  EXPECT_THAT(GatewayMetrics(), HasSubstr("instance=\"ci/worker 3\""));
}

TEST_F(PusherTest, AnInconsistentPushIsRejected) {
  PushOptions options;
  options.url = gateway_->url();
  options.instance = "a";
  auto registry = RegistryWithTrial(results::Outcome::kPass);
  auto first = Pusher::Create(options, registry);
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT((*first)->Push(), IsOk());
  // The same name as a gauge in another group contradicts the counter.
  auto conflicting = std::make_shared<prometheus::Registry>();
  prometheus::BuildGauge().Name("flaky_trials_total").Help("x").Register(*conflicting).Add({}).Set(1);
  options.instance = "b";
  auto second = Pusher::Create(options, conflicting);
  ASSERT_THAT(second, IsOk());
  EXPECT_THAT((*second)->Push(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("refused to push to with HTTP 400")));
}

TEST_F(PusherTest, PeriodicPusherPushesUntilStopped) {
  auto registry = RegistryWithTrial(results::Outcome::kPass);
  PushOptions options;
  options.url = gateway_->url();
  options.instance = "periodic";
  auto pusher = Pusher::Create(options, registry);
  ASSERT_THAT(pusher, IsOk());
  PeriodicPusher periodic(**pusher, absl::Milliseconds(20));
  ASSERT_TRUE(periodic.WaitForPushes(3, absl::Seconds(60)));
  EXPECT_THAT(periodic.last_status(), IsOk());
  EXPECT_THAT(GatewayMetrics(), HasSubstr("instance=\"periodic\""));
  EXPECT_THAT(periodic.Stop(), IsOk());
  EXPECT_THAT(periodic.Stop(), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(Pusher, AnUnreachableGatewayIsUnavailableAndPeriodicPushesContinue) {
  auto port = testing::FreeLoopbackPort();
  ASSERT_THAT(port, IsOk());
  PushOptions options;
  options.url = absl::StrCat("http://127.0.0.1:", *port);
  auto registry = RegistryWithTrial(results::Outcome::kPass);
  auto pusher = Pusher::Create(options, registry);
  ASSERT_THAT(pusher, IsOk());
  const std::string message = absl::StrCat(
      "cannot push to the Pushgateway at http://127.0.0.1:", *port,
      " (curl error 7: could not connect)");
  EXPECT_THAT((*pusher)->Push(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr(message)));
  PeriodicPusher periodic(**pusher, absl::Milliseconds(5));
  ASSERT_TRUE(periodic.WaitForPushes(2, absl::Seconds(60)));
  EXPECT_THAT(periodic.last_status(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr(message)));
  EXPECT_THAT(periodic.Stop(), StatusIs(absl::StatusCode::kUnavailable));
}

TEST(Pusher, PushingADestroyedRegistryFails) {
  PushOptions options;
  options.url = "http://127.0.0.1:9091";
  auto pusher = Pusher::Create(options, RegistryWithTrial(results::Outcome::kPass));
  ASSERT_THAT(pusher, IsOk());
  EXPECT_THAT((*pusher)->Push(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("the metrics registry was destroyed")));
}

TEST(Pusher, CreateRejectsMalformedUrlsAndJobs) {
  auto registry = std::make_shared<prometheus::Registry>();
  for (const char* url : {"", "127.0.0.1:9091", "ftp://h:1", "http://",
                          "http://h:0", "http://h:port", "http://h:9091/path",
                          "http://h/path"}) {
    PushOptions options;
    options.url = url;
    EXPECT_THAT(Pusher::Create(options, registry),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("is not http(s)://HOST[:PORT]")))
        << url;
  }
  PushOptions options;
  options.url = "http://[::1]:9091";
  EXPECT_THAT(Pusher::Create(options, registry), IsOk());
  options.url = "http://127.0.0.1";
  options.job = "flaky/ci";
  EXPECT_THAT(Pusher::Create(options, registry),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("job \"flaky/ci\" must be")));
}

}  // namespace
}  // namespace flaky::metrics
