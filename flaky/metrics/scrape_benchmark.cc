// scrape_benchmark: the metrics endpoint under load, for BENCHMARKS.md
// (issue 19's target: 1,000 parallel scrapes with 10 idle connections open,
// every scrape answered within 1 s).
//
//   bazel run -c opt //flaky/metrics:scrape_benchmark -- --scrapes=1000
//       --clients=50 --idle=10 --cases=500   (one line)
//
// Fills a registry with --cases test cases' metrics (as a big hunt would),
// opens --idle TCP connections that never send a byte, then runs --scrapes
// GETs of /metrics from --clients threads at once and prints the latency
// percentiles, the slowest scrape and any that failed. Wall-clock numbers:
// run it on an otherwise idle machine.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "flaky/metrics/exposer.h"
#include "flaky/metrics/metrics.h"
#include "flaky/metrics/testing/http.h"
#include "prometheus/registry.h"

ABSL_FLAG(int, scrapes, 1000, "GETs of /metrics in all");
ABSL_FLAG(int, clients, 50, "threads scraping at once");
ABSL_FLAG(int, idle, 10, "connections opened first that never send a request");
ABSL_FLAG(int, cases, 500, "test cases whose metrics fill the registry");

namespace {

int OpenIdleConnection(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  auto registry = std::make_shared<prometheus::Registry>();
  absl::StatusOr<std::unique_ptr<flaky::metrics::FlakyMetrics>> metrics =
      flaky::metrics::FlakyMetrics::Create(*registry, flaky::metrics::MetricsOptions());
  if (!metrics.ok()) {
    std::cerr << metrics.status() << "\n";
    return 1;
  }
  for (int c = 0; c < absl::GetFlag(FLAGS_cases); ++c) {
    flaky::results::Trial trial;
    trial.target = absl::StrCat("//pkg", c % 10, ":test");
    trial.test_case = absl::StrCat("Suite.Case", c);
    trial.profile = "chaos:1";
    trial.outcome = c % 7 == 0 ? flaky::results::Outcome::kFail : flaky::results::Outcome::kPass;
    trial.duration = absl::Milliseconds(15);
    if (!(*metrics)->RecordTrial(trial).ok()) return 1;
  }
  absl::StatusOr<std::unique_ptr<flaky::metrics::MetricsEndpoint>> endpoint =
      flaky::metrics::MetricsEndpoint::Start("127.0.0.1:0", registry);
  if (!endpoint.ok()) {
    std::cerr << endpoint.status() << "\n";
    return 1;
  }
  std::vector<int> idle;
  for (int i = 0; i < absl::GetFlag(FLAGS_idle); ++i) {
    idle.push_back(OpenIdleConnection((*endpoint)->port()));
  }
  const int scrapes = absl::GetFlag(FLAGS_scrapes);
  std::atomic<int> next{0};
  std::atomic<int> failed{0};
  std::mutex mutex;
  std::vector<double> latencies_ms;
  size_t bytes = 0;
  const absl::Time start = absl::Now();
  std::vector<std::thread> clients;
  for (int t = 0; t < absl::GetFlag(FLAGS_clients); ++t) {
    clients.emplace_back([&] {
      while (next.fetch_add(1) < scrapes) {
        const absl::Time begin = absl::Now();
        auto response = flaky::metrics::testing::HttpGet((*endpoint)->url(), absl::Seconds(30));
        const double ms = absl::ToDoubleMilliseconds(absl::Now() - begin);
        std::lock_guard<std::mutex> lock(mutex);
        if (!response.ok() || response->code != 200) {
          ++failed;
          continue;
        }
        bytes = response->body.size();
        latencies_ms.push_back(ms);
      }
    });
  }
  for (std::thread& client : clients) client.join();
  const double wall_s = absl::ToDoubleSeconds(absl::Now() - start);
  for (int fd : idle) close(fd);
  std::sort(latencies_ms.begin(), latencies_ms.end());
  auto percentile = [&](double p) {
    if (latencies_ms.empty()) return 0.0;
    return latencies_ms[std::min(latencies_ms.size() - 1,
                                 static_cast<size_t>(p * latencies_ms.size()))];
  };
  std::cout << absl::StrFormat(
      "| %d scrapes, %d clients, %d idle connections, %d cases (%zu bytes each) | %.1f s "
      "| p50 %.0f ms | p99 %.0f ms | max %.0f ms | over 1 s: %d | failed: %d |\n",
      scrapes, absl::GetFlag(FLAGS_clients), absl::GetFlag(FLAGS_idle),
      absl::GetFlag(FLAGS_cases), bytes, wall_s, percentile(0.5), percentile(0.99),
      latencies_ms.empty() ? 0.0 : latencies_ms.back(),
      static_cast<int>(std::count_if(latencies_ms.begin(), latencies_ms.end(),
                                     [](double ms) { return ms > 1000.0; })),
      failed.load());
  return failed.load() == 0 ? 0 : 1;
}
