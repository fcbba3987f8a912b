#include "flaky/metrics/exposer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status_matchers.h"
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

// Opens a TCP connection to 127.0.0.1:port and sends nothing, as a stuck
// client or a port scanner does. Closed by the caller.
int OpenIdleConnection(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 &&
      connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

TEST(MetricsEndpoint, IdleConnectionsDoNotStallScrapes) {
  auto registry = std::make_shared<prometheus::Registry>();
  auto endpoint = MetricsEndpoint::Start("127.0.0.1:0", registry);
  ASSERT_THAT(endpoint, IsOk());
  // Ten idle connections, fewer than the workers: with the one worker of
  // old, the first of them held it for civetweb's 30 s read timeout and
  // every scrape behind it waited. The 20 s client timeout is a liveness
  // bound (a stall fails it), not a speed target.
  std::vector<int> idle;
  for (int i = 0; i < 10; ++i) {
    const int fd = OpenIdleConnection((*endpoint)->port());
    ASSERT_GE(fd, 0) << "cannot connect to the endpoint";
    idle.push_back(fd);
  }
  for (int scrape = 0; scrape < 5; ++scrape) {
    auto response = testing::HttpGet((*endpoint)->url(), absl::Seconds(20));
    ASSERT_THAT(response, IsOk()) << "scrape " << scrape;
    EXPECT_EQ(response->code, 200);
  }
  for (int fd : idle) close(fd);
}

TEST(MetricsEndpoint, WarnsWhenItListensBeyondLoopback) {
  auto registry = std::make_shared<prometheus::Registry>();
  auto local = MetricsEndpoint::Start("127.0.0.1:0", registry);
  ASSERT_THAT(local, IsOk());
  EXPECT_EQ((*local)->warning(), "");
  auto everywhere = MetricsEndpoint::Start("0.0.0.0:0", registry);
  ASSERT_THAT(everywhere, IsOk());
  EXPECT_THAT((*everywhere)->warning(),
              HasSubstr("metrics on 0.0.0.0:0 are reachable beyond this machine"));
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
