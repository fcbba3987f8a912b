// Starts a real server binary (Prometheus, Pushgateway, node_exporter) on a
// free loopback port for a test, waits until it answers, and stops and
// reaps it when the test ends, even on failure.
//
//   ServerSpec spec = PushgatewaySpec(
//       absl::StrCat(getenv("TEST_TMPDIR"), "/pushgateway.log"));
//   FLAKY_ASSIGN_OR_RETURN(auto gateway, ServerProcess::Start(spec));
//   HttpGet(gateway->url() + "/metrics");
#ifndef FLAKY_METRICS_TESTING_SERVER_PROCESS_H_
#define FLAKY_METRICS_TESTING_SERVER_PROCESS_H_

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/process.h"

namespace flaky::metrics::testing {

// FreeLoopbackPort returns a port the OS reports free on 127.0.0.1. Another
// process may take it before it is used; ServerProcess::Start retries.
absl::StatusOr<int> FreeLoopbackPort();

// ServerSpec describes how to run a server. Every "{PORT}" in `args` is
// replaced by the chosen port.
struct ServerSpec {
  std::string binary;
  std::vector<std::string> args;
  std::string ready_path = "/-/ready";  // answers 200 once the server is up
  std::string log_path;                 // stdout and stderr of the server
  absl::Duration ready_timeout = absl::Seconds(60);
};

// PushgatewaySpec is Debian's prometheus-pushgateway on the chosen port,
// logging to `log_path`.
ServerSpec PushgatewaySpec(std::string log_path);

// ServerProcess is a running server. Destroying it stops and reaps it.
class ServerProcess {
 public:
  // Start runs the server on a free loopback port and waits until
  // ready_path answers 200. NotFound when the binary is missing (naming
  // the Debian package to install is the caller's job); DeadlineExceeded or
  // Internal, with the tail of its log, when it dies or never gets ready.
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Start(
      const ServerSpec& spec);

  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // port returns the port the server listens on.
  int port() const { return port_; }
  // url returns "http://127.0.0.1:PORT".
  std::string url() const;
  // log returns what the server wrote so far.
  std::string log() const;

  // Stop sends SIGTERM, waits up to 10 s, then SIGKILL, and reaps. Returns
  // Internal when the server had to be killed. Idempotent.
  absl::Status Stop();

 private:
  ServerProcess(::flaky::Process process, int port, std::string log_path)
      : process_(std::move(process)), port_(port), log_path_(std::move(log_path)) {}

  std::optional<::flaky::Process> process_;
  int port_;
  std::string log_path_;
};

}  // namespace flaky::metrics::testing

#endif  // FLAKY_METRICS_TESTING_SERVER_PROCESS_H_
