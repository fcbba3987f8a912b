// A pull endpoint: serves a collectable's metrics at http://ADDRESS/metrics
// for Prometheus to scrape (`flaky serve`, and a hunt's live metrics).
//
//   auto registry = std::make_shared<prometheus::Registry>();
//   FLAKY_ASSIGN_OR_RETURN(std::unique_ptr<MetricsEndpoint> endpoint,
//                          MetricsEndpoint::Start("127.0.0.1:0", registry));
//   std::cout << "serving " << endpoint->url() << "\n";
//
// Port 0 lets the OS choose; port() reads the chosen one back. The endpoint
// listens on loopback unless the caller names another address: 0.0.0.0
// exposes test names to the network and must be asked for explicitly.
#ifndef FLAKY_METRICS_EXPOSER_H_
#define FLAKY_METRICS_EXPOSER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "prometheus/collectable.h"
#include "prometheus/exposer.h"

namespace flaky::metrics {

// kDefaultMetricsAddress is where `flaky serve` listens unless told otherwise.
inline constexpr absl::string_view kDefaultMetricsAddress = "127.0.0.1:9477";

// The server's worker threads, and how long one waits for a request on an
// open connection: together they bound how long idle connections can
// delay a scrape (see exposer.cc).
inline constexpr int kWorkerThreads = 16;
inline constexpr int kRequestTimeoutMs = 1000;

// MetricsEndpoint is a running HTTP server for /metrics. Destroying it stops
// the server. Thread-safe: the server's threads serialise the collectable
// while the owner keeps updating it.
class MetricsEndpoint {
 public:
  // Start listens on `address` ("HOST:PORT", IPv4 host, port 0 for any free
  // port) and serves `collectable` at /metrics. The collectable is held
  // weakly: the caller keeps it alive. InvalidArgument for a malformed
  // address; Unavailable when the address cannot be bound (port in use,
  // host not local).
  static absl::StatusOr<std::unique_ptr<MetricsEndpoint>> Start(
      absl::string_view address,
      std::weak_ptr<prometheus::Collectable> collectable);

  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  // port returns the port the server listens on (the OS's choice for 0).
  int port() const { return port_; }

  // url returns "http://HOST:PORT/metrics".
  std::string url() const;

  // warning is one line to print when the endpoint listens beyond loopback
  // (it exposes test names to the network), else empty.
  const std::string& warning() const { return warning_; }

 private:
  MetricsEndpoint(std::unique_ptr<prometheus::Exposer> exposer,
                  std::string host, int port, std::string warning)
      : exposer_(std::move(exposer)),
        host_(std::move(host)),
        port_(port),
        warning_(std::move(warning)) {}

  std::unique_ptr<prometheus::Exposer> exposer_;
  std::string host_;
  int port_;
  std::string warning_;
};

}  // namespace flaky::metrics

#endif  // FLAKY_METRICS_EXPOSER_H_
