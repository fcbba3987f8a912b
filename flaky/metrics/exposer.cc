#include "flaky/metrics/exposer.h"

#include <arpa/inet.h>

#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "flaky/metrics/boundary.h"

namespace flaky::metrics {

absl::StatusOr<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Start(
    absl::string_view address,
    std::weak_ptr<prometheus::Collectable> collectable) {
  const size_t colon = address.rfind(':');
  int port = -1;
  const std::string host(colon == absl::string_view::npos
                             ? absl::string_view()
                             : address.substr(0, colon));
  in_addr parsed;
  if (colon == absl::string_view::npos ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 0 ||
      port > 65535 || inet_pton(AF_INET, host.c_str(), &parsed) != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "metrics address \"", address,
        "\" is not IPV4:PORT (e.g. 127.0.0.1:9477, port 0 for any free one)"));
  }
  std::unique_ptr<prometheus::Exposer> exposer;
  FLAKY_RETURN_IF_ERROR(CallPrometheus(
      absl::StrCat("cannot listen on ", address,
                   " (port in use or address not local? pick another address)"),
      [&] {
        // civetweb serves one connection per worker thread and, by default,
        // waits 30 s for a request on it: one idle client (a stuck probe, a
        // half-open connection) held the single worker and stalled every
        // scrape. Enough workers that a few idle connections leave room,
        // and a short read timeout that frees theirs; no keep-alive, so a
        // scraper's connection does not hold a worker between scrapes.
        exposer = std::make_unique<prometheus::Exposer>(std::vector<std::string>{
            "listening_ports", std::string(address),
            "num_threads", absl::StrCat(kWorkerThreads),
            "request_timeout_ms", absl::StrCat(kRequestTimeoutMs),
            "enable_keep_alive", "no"});
      },
      absl::StatusCode::kUnavailable));
  FLAKY_RETURN_IF_ERROR(CallPrometheus(
      "registering the collectable",
      [&] { exposer->RegisterCollectable(collectable); }));
  const std::vector<int> ports = exposer->GetListeningPorts();
  if (ports.size() != 1 || ports[0] <= 0) {
    return absl::InternalError(absl::StrCat(
        "the metrics server on ", address, " reports ", ports.size(),
        " listening ports, expected one"));
  }
  std::string warning;
  if (!absl::StartsWith(host, "127.")) {
    warning = absl::StrCat(
        "flaky: warning: metrics on ", address,
        " are reachable beyond this machine: they name your tests and "
        "their failures (use 127.0.0.1 unless you mean it)");
  }
  return std::unique_ptr<MetricsEndpoint>(
      new MetricsEndpoint(std::move(exposer), host, ports[0], std::move(warning)));
}

std::string MetricsEndpoint::url() const {
  return absl::StrCat("http://", host_, ":", port_, "/metrics");
}

}  // namespace flaky::metrics
