#include "base/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "base/status_macros.h"

namespace flaky {

// ChildStreams is the descriptors a child's stdin, stdout and stderr become
// (-1: ours), with the parent's ends of the capture pipes.
struct ChildStreams {
  Fd in;
  Fd out;
  Fd err;
  Fd out_read;
  Fd err_read;

  // CloseChildEnds closes, in the parent after fork, what only the child
  // uses: a capture is at EOF only once no writer is left.
  void CloseChildEnds() {
    in.Close();
    out.Close();
    err.Close();
  }
};

namespace {

// Which step of starting the child failed, sent with errno over a
// close-on-exec pipe (nothing arrives when exec succeeds).
enum class Step : int { kChdir = 1, kExec = 2 };

struct ChildFailure {
  Step step;
  int error;
};

// kChildSetupFailed is the exit code of a child that gave up before exec
// (its parent died first, or dropped it while it was held).
constexpr int kChildSetupFailed = 127;

absl::StatusCode CodeForErrno(int err) {
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return absl::StatusCode::kNotFound;
    case EACCES:
    case EPERM:
      return absl::StatusCode::kPermissionDenied;
    default:
      return absl::StatusCode::kFailedPrecondition;
  }
}

std::string NameOf(const SpawnOptions& options) {
  return options.argv.empty() ? "child" : options.argv[0];
}

absl::Status StartError(absl::StatusCode code, absl::string_view name,
                        absl::string_view why) {
  return absl::Status(code, absl::StrCat("cannot start ", name, ": ", why));
}

absl::Status FailureToStatus(const ChildFailure& failure,
                             const std::string& name, const std::string& cwd) {
  if (failure.step == Step::kChdir) {
    return StartError(CodeForErrno(failure.error), name,
                      absl::StrCat("cannot enter directory ", cwd, ": ",
                                   std::strerror(failure.error)));
  }
  return StartError(CodeForErrno(failure.error), name,
                    std::strerror(failure.error));
}

// ReadFailure reads the child's report from the exec-error pipe: nullopt
// at EOF (the child exec'd).
std::optional<ChildFailure> ReadFailure(int fd) {
  ChildFailure failure{Step::kExec, 0};
  ssize_t n;
  do {
    n = read(fd, &failure, sizeof(failure));
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof(failure))) return failure;
  return std::nullopt;
}

int WaitBlocking(pid_t pid) {
  int wait_status = 0;
  while (waitpid(pid, &wait_status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return wait_status;
}

absl::StatusOr<Fd> OpenOutputFile(const std::string& path,
                                  const std::string& name) {
  const int fd =
      open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return StartError(absl::StatusCode::kUnavailable, name,
                      absl::StrCat("cannot write ", path, ": ",
                                   std::strerror(errno)));
  }
  return Fd(fd);
}

absl::Status OpenStreams(const SpawnOptions& options, ChildStreams& streams) {
  const std::string name = NameOf(options);
  if (!options.inherit_stdin) {
    const int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return StartError(absl::StatusCode::kUnavailable, name,
                        absl::StrCat("cannot open /dev/null: ",
                                     std::strerror(errno)));
    }
    streams.in = Fd(fd);
  }
  auto open = [&](const Output& output, Fd& child_end,
                  Fd& parent_end) -> absl::Status {
    switch (output.kind) {
      case Output::Kind::kInherit:
        return absl::OkStatus();
      case Output::Kind::kFile: {
        FLAKY_ASSIGN_OR_RETURN(child_end, OpenOutputFile(output.path, name));
        return absl::OkStatus();
      }
      case Output::Kind::kCapture: {
        absl::StatusOr<Pipe> pipe = MakePipe();
        if (!pipe.ok()) {
          return StartError(absl::StatusCode::kUnavailable, name,
                            pipe.status().message());
        }
        child_end = std::move(pipe->write);
        parent_end = std::move(pipe->read);
        return absl::OkStatus();
      }
    }
    return absl::OkStatus();
  };
  FLAKY_RETURN_IF_ERROR(open(options.stdout_to, streams.out, streams.out_read));
  if (options.stderr_to.kind == Output::Kind::kFile &&
      options.stdout_to.kind == Output::Kind::kFile &&
      options.stderr_to.path == options.stdout_to.path) {
    // Two descriptors would each write from offset 0 over the other.
    streams.err = Fd(fcntl(streams.out.get(), F_DUPFD_CLOEXEC, 0));
    if (!streams.err.valid()) {
      return StartError(absl::StatusCode::kUnavailable, name,
                        std::strerror(errno));
    }
    return absl::OkStatus();
  }
  return open(options.stderr_to, streams.err, streams.err_read);
}

// SetUpChild runs in the child between fork and exec (or the body): only
// async-signal-safe calls.
void SetUpChild(const SpawnOptions& options, pid_t parent,
                const ChildStreams& streams) {
  if (options.new_process_group) setpgid(0, 0);
  if (options.parent_death_signal != 0) {
    prctl(PR_SET_PDEATHSIG, options.parent_death_signal);
    // The parent may have died before prctl: then no signal will come.
    if (getppid() != parent) _exit(kChildSetupFailed);
  }
  if (streams.in.valid()) dup2(streams.in.get(), STDIN_FILENO);
  if (streams.out.valid()) dup2(streams.out.get(), STDOUT_FILENO);
  if (streams.err.valid()) dup2(streams.err.get(), STDERR_FILENO);
}

absl::StatusOr<std::string> ResolveProgram(const SpawnOptions& options) {
  if (!options.program.empty()) return options.program;
  const std::string& name = options.argv[0];
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  absl::StatusOr<std::string> found =
      FindOnPath(name, path == nullptr ? "/usr/bin:/bin" : path);
  if (!found.ok()) {
    return StartError(absl::StatusCode::kNotFound, name, std::strerror(ENOENT));
  }
  return found;
}

}  // namespace

ExitStatus ExitStatus::FromWaitStatus(int wait_status) {
  if (WIFSIGNALED(wait_status)) return Killed(WTERMSIG(wait_status));
  return ExitStatus{WEXITSTATUS(wait_status), 0};
}

std::string ExitStatus::ToString() const {
  if (signal != 0) return absl::StrCat("killed by signal ", signal);
  return absl::StrCat("exit code ", code);
}

absl::StatusOr<Process> Process::Spawn(const SpawnOptions& options) {
  if (options.argv.empty()) {
    return absl::InvalidArgumentError("cannot start an empty command");
  }
  const std::string name = options.argv[0];
  FLAKY_ASSIGN_OR_RETURN(const std::string program, ResolveProgram(options));
  // Everything the child needs is built before fork: after it only
  // async-signal-safe calls are allowed.
  std::vector<char*> argv;
  for (const std::string& arg : options.argv) {
    argv.push_back(const_cast<char*>(arg.c_str()));
  }
  argv.push_back(nullptr);
  std::vector<char*> envp;
  if (options.env.has_value()) {
    for (const std::string& entry : *options.env) {
      envp.push_back(const_cast<char*>(entry.c_str()));
    }
    envp.push_back(nullptr);
  }
  sigset_t mask;
  if (options.signal_mask.has_value()) {
    mask = *options.signal_mask;
  } else {
    sigemptyset(&mask);
  }
  ChildStreams streams;
  FLAKY_RETURN_IF_ERROR(OpenStreams(options, streams));
  absl::StatusOr<Pipe> error_pipe = MakePipe();
  absl::StatusOr<Pipe> go_pipe =
      options.hold ? MakePipe() : absl::StatusOr<Pipe>(Pipe{});
  for (const absl::StatusOr<Pipe>* pipe : {&error_pipe, &go_pipe}) {
    if (!pipe->ok()) {
      return StartError(absl::StatusCode::kUnavailable, name,
                        pipe->status().message());
    }
  }

  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    return StartError(absl::StatusCode::kUnavailable, name,
                      std::strerror(errno));
  }
  if (pid == 0) {
    SetUpChild(options, parent, streams);
    if (options.hold) {
      char go = 0;
      ssize_t n;
      do {
        n = read(go_pipe->read.get(), &go, 1);
      } while (n < 0 && errno == EINTR);
      if (n != 1) _exit(kChildSetupFailed);  // the parent gave up on it
    }
    if (options.default_signals) {
      signal(SIGINT, SIG_DFL);
      signal(SIGTERM, SIG_DFL);
      signal(SIGPIPE, SIG_DFL);
    }
    sigprocmask(SIG_SETMASK, &mask, nullptr);
    ChildFailure failure{Step::kExec, 0};
    if (!options.cwd.empty() && chdir(options.cwd.c_str()) != 0) {
      failure = {Step::kChdir, errno};
    } else {
      if (options.env.has_value()) {
        execve(program.c_str(), argv.data(), envp.data());
      } else {
        execv(program.c_str(), argv.data());
      }
      failure.error = errno;
    }
    (void)!write(error_pipe->write.get(), &failure, sizeof(failure));
    _exit(kChildSetupFailed);
  }
  Process process = Adopt(name, pid, options, streams);
  error_pipe->write.Close();
  if (options.hold) {
    go_pipe->read.Close();
    process.go_ = std::move(go_pipe->write);
    process.exec_error_ = std::move(error_pipe->read);
    process.cwd_ = options.cwd;
    return process;
  }
  if (std::optional<ChildFailure> failure = ReadFailure(error_pipe->read.get())) {
    process.Wait();
    return FailureToStatus(*failure, name, options.cwd);
  }
  return process;
}

absl::StatusOr<Process> Process::Fork(const SpawnOptions& options,
                                      const std::function<void()>& body) {
  const std::string name = NameOf(options);
  ChildStreams streams;
  FLAKY_RETURN_IF_ERROR(OpenStreams(options, streams));
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    return StartError(absl::StatusCode::kUnavailable, name,
                      std::strerror(errno));
  }
  if (pid == 0) {
    SetUpChild(options, parent, streams);
    body();
    _exit(0);
  }
  return Adopt(name, pid, options, streams);
}

Process Process::Adopt(const std::string& name, pid_t pid, const SpawnOptions& options,
                       ChildStreams& streams) {
  streams.CloseChildEnds();
  // Also set the group here, so a signal sent right after the start
  // reaches the group even if the child has not run setpgid yet.
  if (options.new_process_group) setpgid(pid, pid);
  Process process;
  process.name_ = name;
  process.pid_ = pid;
  process.own_group_ = options.new_process_group;
  process.out_.fd = std::move(streams.out_read);
  process.out_.max_bytes = options.stdout_to.max_bytes;
  process.err_.fd = std::move(streams.err_read);
  process.err_.max_bytes = options.stderr_to.max_bytes;
  process.pidfd_ = Fd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  return process;
}

Process::Process(Process&& other) noexcept { *this = std::move(other); }

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    Abandon();
    name_ = std::move(other.name_);
    pid_ = std::exchange(other.pid_, -1);
    own_group_ = other.own_group_;
    status_ = std::exchange(other.status_, std::nullopt);
    out_ = std::move(other.out_);
    err_ = std::move(other.err_);
    go_ = std::move(other.go_);
    exec_error_ = std::move(other.exec_error_);
    pidfd_ = std::move(other.pidfd_);
    cwd_ = std::move(other.cwd_);
  }
  return *this;
}

Process::~Process() { Abandon(); }

void Process::Abandon() {
  if (pid_ > 0 && !status_) {
    Signal(SIGKILL);
    Wait();
  }
  pid_ = -1;
}

absl::Status Process::Release() {
  if (!go_.valid()) {
    return absl::FailedPreconditionError(
        absl::StrCat(name_, " is not held before exec"));
  }
  const char go = 1;
  ssize_t n;
  do {
    n = write(go_.get(), &go, 1);
  } while (n < 0 && errno == EINTR);
  const int err = errno;
  go_.Close();
  if (n != 1) {
    return StartError(absl::StatusCode::kUnavailable, name_,
                      absl::StrCat("cannot release it: ", std::strerror(err)));
  }
  std::optional<ChildFailure> failure = ReadFailure(exec_error_.get());
  exec_error_.Close();
  if (failure) return FailureToStatus(*failure, name_, cwd_);
  return absl::OkStatus();
}

void Process::Reap(int wait_status) {
  status_ = wait_status < 0 ? ExitStatus{-1, 0}
                            : ExitStatus::FromWaitStatus(wait_status);
  pidfd_.Close();
}

void Process::Pump(int timeout_ms) {
  // Both pipes are drained together: a child that fills one while we
  // block on the other would deadlock.
  Capture* captures[2] = {&out_, &err_};
  const absl::Time deadline =
      timeout_ms < 0 ? absl::InfiniteFuture()
                     : absl::Now() + absl::Milliseconds(timeout_ms);
  char buffer[65536];
  while (out_.fd.valid() || err_.fd.valid()) {
    struct pollfd fds[2];
    int count = 0;
    Capture* polled[2];
    for (Capture* capture : captures) {
      if (!capture->fd.valid()) continue;
      fds[count] = {capture->fd.get(), POLLIN, 0};
      polled[count++] = capture;
    }
    int wait_ms = -1;
    if (timeout_ms >= 0) {
      wait_ms = static_cast<int>(std::max<int64_t>(
          0, absl::ToInt64Milliseconds(deadline - absl::Now())));
    }
    const int ready = poll(fds, count, wait_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) {
      for (Capture* capture : polled) capture->fd.Close();
      return;
    }
    if (ready == 0) return;  // timed out
    for (int i = 0; i < count; ++i) {
      if (fds[i].revents == 0) continue;
      Capture& capture = *polled[i];
      const ssize_t n = read(capture.fd.get(), buffer, sizeof(buffer));
      if (n > 0) {
        const size_t room = capture.max_bytes - std::min(capture.max_bytes,
                                                         capture.text.size());
        const size_t kept = std::min(room, static_cast<size_t>(n));
        capture.text.append(buffer, kept);
        if (kept < static_cast<size_t>(n)) capture.truncated = true;
      } else if (n == 0 || errno != EINTR) {
        capture.fd.Close();
      }
    }
    // A child that writes without pause must not hold a bounded pump.
    if (timeout_ms >= 0 && absl::Now() >= deadline) return;
  }
}

std::optional<ExitStatus> Process::Poll() {
  if (status_ || pid_ <= 0) return status_;
  Pump(0);
  int wait_status = 0;
  pid_t done;
  do {
    done = waitpid(pid_, &wait_status, WNOHANG);
  } while (done < 0 && errno == EINTR);
  if (done == pid_) Reap(wait_status);
  if (done < 0) Reap(-1);  // not our child any more: nothing to wait for
  return status_;
}

ExitStatus Process::Wait() {
  if (status_ || pid_ <= 0) return status_.value_or(ExitStatus{-1, 0});
  Pump(-1);
  Reap(WaitBlocking(pid_));
  return *status_;
}

absl::StatusOr<ExitStatus> Process::WaitFor(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (std::optional<ExitStatus> done = Poll()) return *done;
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) break;
    // Without a pidfd (kernels before 5.3) the end is polled for.
    int wait_ms = static_cast<int>(
        std::min<int64_t>(absl::ToInt64Milliseconds(absl::Ceil(
                              left, absl::Milliseconds(1))),
                          pidfd_.valid() ? 1000 : 10));
    struct pollfd fds[3];
    int count = 0;
    for (const Fd* fd : {&pidfd_, &out_.fd, &err_.fd}) {
      if (fd->valid()) fds[count++] = {fd->get(), POLLIN, 0};
    }
    if (count > 0) {
      poll(fds, count, wait_ms);
    } else {
      usleep(static_cast<useconds_t>(wait_ms) * 1000);
    }
  }
  Signal(SIGKILL);
  Wait();
  return absl::DeadlineExceededError(
      absl::StrCat(name_, " did not end within ", absl::FormatDuration(timeout),
                   ": killed"));
}

void Process::Signal(int sig) {
  if (pid_ <= 0 || status_) return;
  kill(own_group_ ? -pid_ : pid_, sig);
}

absl::StatusOr<RunResult> RunProcess(const SpawnOptions& options) {
  FLAKY_ASSIGN_OR_RETURN(Process process, Process::Spawn(options));
  RunResult result;
  result.status = process.Wait();
  result.stdout_text = process.stdout_text();
  result.stderr_text = process.stderr_text();
  return result;
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

}  // namespace flaky
