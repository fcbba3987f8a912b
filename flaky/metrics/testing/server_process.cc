#include "flaky/metrics/testing/server_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
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
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    const int log_fd = open(spec.log_path.c_str(),
                            O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log_fd < 0) {
      return absl::InternalError(absl::StrCat("cannot open ", spec.log_path,
                                              ": ", strerror(errno)));
    }
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) {
      close(log_fd);
      return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
    }
    if (pid == 0) {
      // The server must not outlive a test that Bazel kills at its timeout.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
      dup2(log_fd, STDOUT_FILENO);
      dup2(log_fd, STDERR_FILENO);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(log_fd);
    std::unique_ptr<ServerProcess> server(
        new ServerProcess(pid, *port, spec.log_path));
    bool exited = false;
    last = PollUntil(
        absl::StrCat(spec.binary, " to answer ", server->url(), spec.ready_path),
        spec.ready_timeout, [&](std::string* note) {
          int status = 0;
          if (waitpid(pid, &status, WNOHANG) == pid) {
            exited = true;
            server->pid_ = -1;
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
  if (pid_ <= 0) return absl::OkStatus();
  const pid_t pid = pid_;
  pid_ = -1;
  kill(pid, SIGTERM);
  int status = 0;
  const absl::Status reaped = PollUntil(
      absl::StrCat("process ", pid, " to exit after SIGTERM"), absl::Seconds(10),
      [&](std::string*) { return waitpid(pid, &status, WNOHANG) == pid; },
      absl::Milliseconds(20));
  if (reaped.ok()) return absl::OkStatus();
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return absl::InternalError(absl::StrCat(
      "process ", pid, " ignored SIGTERM for 10 s and was killed"));
}

}  // namespace flaky::metrics::testing
