#include "flaky/merge_gate/launcher.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace flaky::merge_gate {
namespace {

// Which step of starting the child failed, sent with errno over the
// close-on-exec pipe (nothing arrives when execvp succeeds).
enum class ChildStep : int { kChdir = 1, kExec = 2 };

struct ChildFailure {
  ChildStep step;
  int error;
};

void CloseIfOpen(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

// Reads both pipes until each reaches end of file, so a child that fills
// one while we block on the other cannot deadlock.
void Drain(int out_fd, int err_fd, std::string& out, std::string& err) {
  std::array<pollfd, 2> fds = {pollfd{out_fd, POLLIN, 0},
                               pollfd{err_fd, POLLIN, 0}};
  std::array<std::string*, 2> sinks = {&out, &err};
  int open_count = 2;
  char buffer[65536];
  while (open_count > 0) {
    if (poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = read(fds[i].fd, buffer, sizeof(buffer));
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_count;
      }
    }
  }
}

}  // namespace

absl::StatusOr<ProcessResult> SubprocessLauncher::Run(const Command& command) {
  if (command.argv.empty()) {
    return absl::InvalidArgumentError("cannot run an empty command");
  }
  std::vector<char*> argv;
  argv.reserve(command.argv.size() + 1);
  for (const std::string& arg : command.argv) {
    argv.push_back(const_cast<char*>(arg.c_str()));
  }
  argv.push_back(nullptr);

  int status_pipe[2] = {-1, -1};
  int out_pipe[2] = {-1, -1};
  int err_pipe[2] = {-1, -1};
  auto close_all = [&] {
    for (int* p : {status_pipe, out_pipe, err_pipe}) {
      CloseIfOpen(p[0]);
      CloseIfOpen(p[1]);
    }
  };
  if (pipe2(status_pipe, O_CLOEXEC) != 0 ||
      (command.capture_output && (pipe2(out_pipe, O_CLOEXEC) != 0 ||
                                  pipe2(err_pipe, O_CLOEXEC) != 0))) {
    int error = errno;
    close_all();
    return absl::InternalError(
        absl::StrCat("cannot create pipes to run ", command.argv[0], ": ",
                     strerror(error)));
  }

  pid_t pid = fork();
  if (pid < 0) {
    int error = errno;
    close_all();
    return absl::InternalError(absl::StrCat("cannot fork to run ",
                                            command.argv[0], ": ",
                                            strerror(error)));
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls from here to exec.
    if (command.capture_output) {
      dup2(out_pipe[1], STDOUT_FILENO);
      dup2(err_pipe[1], STDERR_FILENO);
    }
    ChildFailure failure{ChildStep::kExec, 0};
    if (!command.working_dir.empty() &&
        chdir(command.working_dir.c_str()) != 0) {
      failure = {ChildStep::kChdir, errno};
    } else {
      execvp(argv[0], argv.data());
      failure.error = errno;
    }
    ssize_t ignored = write(status_pipe[1], &failure, sizeof(failure));
    (void)ignored;
    _exit(127);
  }

  CloseIfOpen(status_pipe[1]);
  CloseIfOpen(out_pipe[1]);
  CloseIfOpen(err_pipe[1]);
  ProcessResult result;
  if (command.capture_output) {
    Drain(out_pipe[0], err_pipe[0], result.stdout_text, result.stderr_text);
    out_pipe[0] = err_pipe[0] = -1;  // Drain closed them.
  }
  ChildFailure failure{ChildStep::kExec, 0};
  ssize_t got;
  do {
    got = read(status_pipe[0], &failure, sizeof(failure));
  } while (got < 0 && errno == EINTR);
  CloseIfOpen(status_pipe[0]);

  int wait_status = 0;
  while (waitpid(pid, &wait_status, 0) < 0) {
    if (errno != EINTR) {
      return absl::InternalError(absl::StrCat(
          "waiting for ", command.argv[0], " failed: ", strerror(errno)));
    }
  }
  if (got == static_cast<ssize_t>(sizeof(failure))) {
    if (failure.step == ChildStep::kChdir) {
      return absl::NotFoundError(absl::StrCat(
          "cannot run ", command.argv[0], ": cannot enter directory ",
          command.working_dir, ": ", strerror(failure.error)));
    }
    return absl::NotFoundError(absl::StrCat(
        "cannot run ", command.argv[0], ": ", strerror(failure.error),
        failure.error == ENOENT ? " (is it installed and on PATH?)" : ""));
  }
  if (WIFEXITED(wait_status)) {
    result.exit_code = WEXITSTATUS(wait_status);
  } else if (WIFSIGNALED(wait_status)) {
    result.exit_code = 128 + WTERMSIG(wait_status);
  }
  return result;
}

}  // namespace flaky::merge_gate
