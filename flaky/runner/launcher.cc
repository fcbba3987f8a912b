#include "flaky/runner/launcher.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "base/status_macros.h"

namespace flaky::runner {
namespace {

ExitStatus FromWaitStatus(int wait_status) {
  ExitStatus status;
  if (WIFSIGNALED(wait_status)) {
    status.code = -1;
    status.signal = WTERMSIG(wait_status);
  } else {
    status.code = WEXITSTATUS(wait_status);
  }
  return status;
}

class PosixProcess : public Process {
 public:
  explicit PosixProcess(pid_t pid) : pid_(pid) {}

  ~PosixProcess() override {
    // A Process dropped while running must not leave a zombie or an
    // orphaned bazel behind.
    if (!status_) {
      Kill();
      Wait();
    }
  }

  std::optional<ExitStatus> Poll() override {
    if (status_) return status_;
    int wait_status = 0;
    pid_t done = waitpid(pid_, &wait_status, WNOHANG);
    if (done == pid_) status_ = FromWaitStatus(wait_status);
    return status_;
  }

  ExitStatus Wait() override {
    while (!status_) {
      int wait_status = 0;
      pid_t done = waitpid(pid_, &wait_status, 0);
      if (done == pid_) {
        status_ = FromWaitStatus(wait_status);
      } else if (done < 0 && errno != EINTR) {
        status_ = ExitStatus{.code = -1, .signal = 0};
      }
    }
    return *status_;
  }

  void Interrupt() override {
    if (!status_) kill(-pid_, SIGINT);
  }

  void Kill() override {
    if (!status_) kill(-pid_, SIGKILL);
  }

 private:
  pid_t pid_;
  std::optional<ExitStatus> status_;
};

absl::StatusOr<std::string> ResolveProgram(const std::string& program) {
  if (program.find('/') != std::string::npos) {
    if (access(program.c_str(), X_OK) != 0) {
      return absl::NotFoundError(
          absl::StrCat(program, " is not an executable file"));
    }
    return program;
  }
  const char* path = std::getenv("PATH");
  return FindOnPath(program, path == nullptr ? "" : path);
}

// Spawn forks and execs. `stdout_fd`/`stderr_fd` (or -1 to inherit) become
// the child's 1 and 2. Exec failures come back through a close-on-exec pipe
// so the caller gets NotFound instead of a child that exits 127.
absl::StatusOr<pid_t> Spawn(const Command& command, int stdout_fd,
                            int stderr_fd) {
  if (command.argv.empty()) {
    return absl::InvalidArgumentError("cannot start an empty command");
  }
  FLAKY_ASSIGN_OR_RETURN(std::string program, ResolveProgram(command.argv[0]));
  std::vector<char*> argv;
  for (const std::string& arg : command.argv) {
    argv.push_back(const_cast<char*>(arg.c_str()));
  }
  argv.push_back(nullptr);
  // The child's environment is built before fork: after it only
  // async-signal-safe calls are allowed.
  std::vector<char*> envp;
  if (command.environment.has_value()) {
    for (const std::string& entry : *command.environment) {
      envp.push_back(const_cast<char*>(entry.c_str()));
    }
    envp.push_back(nullptr);
  }

  int error_pipe[2];
  if (pipe2(error_pipe, O_CLOEXEC) != 0) {
    return absl::UnavailableError(
        absl::StrCat("pipe failed: ", std::strerror(errno)));
  }
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    close(error_pipe[0]);
    close(error_pipe[1]);
    return absl::UnavailableError(
        absl::StrCat("fork failed: ", std::strerror(errno)));
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls from here on.
    setpgid(0, 0);
    if (command.parent_death_signal != 0) {
      prctl(PR_SET_PDEATHSIG, command.parent_death_signal);
      // The parent may have died before prctl: then no signal will come.
      if (getppid() != parent) raise(command.parent_death_signal);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, 0);
    if (stdout_fd >= 0) dup2(stdout_fd, 1);
    if (stderr_fd >= 0) dup2(stderr_fd, 2);
    int step_errno = 0;
    if (!command.working_dir.empty() &&
        chdir(command.working_dir.c_str()) != 0) {
      step_errno = errno;
    } else {
      if (command.environment.has_value()) {
        execve(program.c_str(), argv.data(), envp.data());
      } else {
        execv(program.c_str(), argv.data());
      }
      step_errno = errno;
    }
    (void)!write(error_pipe[1], &step_errno, sizeof(step_errno));
    _exit(127);
  }
  // Parent: also set the group, so a signal sent right after Start reaches
  // the group even if the child has not run setpgid yet.
  setpgid(pid, pid);
  close(error_pipe[1]);
  int child_errno = 0;
  ssize_t n;
  do {
    n = read(error_pipe[0], &child_errno, sizeof(child_errno));
  } while (n < 0 && errno == EINTR);
  close(error_pipe[0]);
  if (n == sizeof(child_errno)) {
    int wait_status;
    waitpid(pid, &wait_status, 0);
    if (!command.working_dir.empty() && access(command.working_dir.c_str(), F_OK) != 0) {
      return absl::NotFoundError(absl::StrCat(
          "cannot start ", command.argv[0], " in ", command.working_dir, ": ",
          std::strerror(child_errno)));
    }
    return absl::NotFoundError(absl::StrCat("cannot execute ", program, ": ",
                                            std::strerror(child_errno)));
  }
  return pid;
}

absl::StatusOr<int> OpenOutput(const std::string& path) {
  if (path.empty()) return -1;
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot write ", path, ": ", std::strerror(errno)));
  }
  return fd;
}

}  // namespace

std::string ExitStatus::ToString() const {
  if (signal != 0) return absl::StrCat("killed by signal ", signal);
  return absl::StrCat("exit code ", code);
}

absl::StatusOr<std::string> FindOnPath(const std::string& program,
                                       const std::string& path_env) {
  for (absl::string_view dir : absl::StrSplit(path_env, ':')) {
    if (dir.empty()) continue;
    std::string candidate = absl::StrCat(dir, "/", program);
    struct stat info;
    if (stat(candidate.c_str(), &info) == 0 && S_ISREG(info.st_mode) &&
        access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return absl::NotFoundError(absl::StrCat(
      program, " not found on PATH (", path_env.empty() ? "empty" : path_env,
      "): install it or put it on PATH"));
}

absl::StatusOr<std::unique_ptr<Process>> PosixLauncher::Start(
    const Command& command) {
  FLAKY_ASSIGN_OR_RETURN(int stdout_fd, OpenOutput(command.stdout_path));
  // One file for both streams needs one descriptor: two would each write
  // from offset 0 over the other.
  absl::StatusOr<int> stderr_fd =
      command.stderr_path == command.stdout_path && stdout_fd >= 0
          ? absl::StatusOr<int>(dup(stdout_fd))
          : OpenOutput(command.stderr_path);
  if (!stderr_fd.ok()) {
    if (stdout_fd >= 0) close(stdout_fd);
    return stderr_fd.status();
  }
  absl::StatusOr<pid_t> pid = Spawn(command, stdout_fd, *stderr_fd);
  if (stdout_fd >= 0) close(stdout_fd);
  if (*stderr_fd >= 0) close(*stderr_fd);
  if (!pid.ok()) return pid.status();
  return std::make_unique<PosixProcess>(*pid);
}

absl::StatusOr<CommandResult> PosixLauncher::Run(const Command& command) {
  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) {
    return absl::UnavailableError(
        absl::StrCat("pipe failed: ", std::strerror(errno)));
  }
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    return absl::UnavailableError(
        absl::StrCat("pipe failed: ", std::strerror(errno)));
  }
  absl::StatusOr<pid_t> pid = Spawn(command, out_pipe[1], err_pipe[1]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (!pid.ok()) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    return pid.status();
  }
  PosixProcess process(*pid);
  CommandResult result;
  // Both pipes are drained together: a child that fills one while we block
  // on the other would deadlock.
  struct pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.stdout_text, &result.stderr_text};
  int open_fds = 2;
  char buffer[65536];
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = read(fds[i].fd, buffer, sizeof(buffer));
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (const struct pollfd& fd : fds) {
    if (fd.fd >= 0) close(fd.fd);
  }
  result.status = process.Wait();
  return result;
}

ExitStatus StopProcess(Process& process, absl::Duration grace, Clock& clock,
                       const std::atomic<bool>* hurry) {
  if (std::optional<ExitStatus> done = process.Poll()) return *done;
  process.Interrupt();
  const absl::Time deadline = clock.Now() + grace;
  while (clock.Now() < deadline && (hurry == nullptr || !hurry->load())) {
    if (std::optional<ExitStatus> done = process.Poll()) return *done;
    clock.SleepFor(absl::Milliseconds(50));
  }
  process.Kill();
  return process.Wait();
}

}  // namespace flaky::runner
