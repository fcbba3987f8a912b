#include "flaky/metrics/testing/server_process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "flaky/metrics/testing/http.h"

namespace flaky::metrics::testing {

ServerSpec PushgatewaySpec(std::string log_path) {
  ServerSpec spec;
  spec.binary = "/usr/bin/prometheus-pushgateway";
  spec.args = {"--web.listen-address=127.0.0.1:{PORT}"};
  spec.log_path = std::move(log_path);
  return spec;
}

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Tail(const std::string& text, size_t bytes = 2000) {
  return text.size() <= bytes ? text : text.substr(text.size() - bytes);
}

}  // namespace

absl::StatusOr<int> FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int error = errno;
    close(fd);
    return absl::InternalError(absl::StrCat("binding 127.0.0.1:0: ", strerror(error)));
  }
  close(fd);
  return ntohs(addr.sin_port);
}

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Start(
    const ServerSpec& spec) {
  if (access(spec.binary.c_str(), X_OK) != 0) {
    return absl::NotFoundError(absl::StrCat(spec.binary, " is not installed"));
  }
  absl::Status last = absl::InternalError("no attempt made");
  // A free port can be taken between FreeLoopbackPort and the server's
  // bind; a few fresh ports make that race irrelevant.
  for (int attempt = 0; attempt < 3; ++attempt) {
    absl::StatusOr<int> port = FreeLoopbackPort();
    if (!port.ok()) return port.status();
    std::vector<std::string> args = {spec.binary};
    for (const std::string& arg : spec.args) {
      args.push_back(absl::StrReplaceAll(arg, {{"{PORT}", absl::StrCat(*port)}}));
    }
    // The server must not outlive a test that Bazel kills at its timeout.
    absl::StatusOr<::flaky::Process> process = ::flaky::Process::Spawn(
        {.argv = args,
         .stdout_to = ::flaky::Output::File(spec.log_path),
         .stderr_to = ::flaky::Output::File(spec.log_path),
         .inherit_stdin = true,
         .parent_death_signal = SIGKILL});
    if (!process.ok()) return process.status();
    std::unique_ptr<ServerProcess> server(
        new ServerProcess(*std::move(process), *port, spec.log_path));
    bool exited = false;
    last = PollUntil(
        absl::StrCat(spec.binary, " to answer ", server->url(), spec.ready_path),
        spec.ready_timeout, [&](std::string* note) {
          if (server->process_->Poll().has_value()) {
            exited = true;
            return true;
          }
          absl::StatusOr<HttpResponse> response =
              HttpGet(server->url() + spec.ready_path, absl::Seconds(2));
          if (!response.ok()) {
            *note = std::string(response.status().message());
            return false;
          }
          *note = absl::StrCat("HTTP ", response->code);
          return response->code == 200;
        });
    if (last.ok() && !exited) return server;
    if (exited) {
      last = absl::InternalError(absl::StrCat(
          spec.binary, " exited before it was ready; its log ends with:\n",
          Tail(server->log())));
    } else {
      last = absl::Status(last.code(),
                          absl::StrCat(last.message(), "; its log ends with:\n",
                                       Tail(server->log())));
    }
  }
  return last;
}

ServerProcess::~ServerProcess() { Stop().IgnoreError(); }

std::string ServerProcess::url() const {
  return absl::StrCat("http://127.0.0.1:", port_);
}

std::string ServerProcess::log() const { return ReadFile(log_path_); }

absl::Status ServerProcess::Stop() {
  if (!process_ || process_->exit_status()) return absl::OkStatus();
  const pid_t pid = process_->pid();
  process_->Signal(SIGTERM);
  if (process_->WaitFor(absl::Seconds(10)).ok()) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(
      "process ", pid, " ignored SIGTERM for 10 s and was killed"));
}

}  // namespace flaky::metrics::testing
