// Child processes: start one (fork + exec, or fork + a function), capture
// or redirect its output, signal it, wait for it with or without a
// timeout, and say how it ended. Every fork and exec of flaky goes through
// here, except the starve wrapper's exec in place (its process becomes the
// test) and reaping the orphans it adopts as a subreaper.
//
//   // Run to the end, output captured:
//   FLAKY_ASSIGN_OR_RETURN(flaky::RunResult git,
//                          flaky::RunProcess({.argv = {"git", "rev-parse", "HEAD"},
//                                      .stdout_to = flaky::Output::Capture(),
//                                      .stderr_to = flaky::Output::Capture()}));
//   if (!git.status.Exited(0)) return Error(git.status.ToString());
//
//   // Start, then stop it after a while, with everything it started:
//   FLAKY_ASSIGN_OR_RETURN(flaky::Process bazel, flaky::Process::Spawn(
//       {.argv = {"bazel", "test", "//t"},
//        .stderr_to = flaky::Output::File("/tmp/bazel.log"),
//        .new_process_group = true,
//        .parent_death_signal = SIGINT}));
//   absl::StatusOr<flaky::ExitStatus> done = bazel.WaitFor(absl::Minutes(5));
//
// Errors of starting are absl::Status with one message shape,
// "cannot start <argv[0]>: <why>": NotFound when the program or the
// working directory does not exist, PermissionDenied when it may not be
// executed or entered, Unavailable when fork, a pipe or an output file
// fails, FailedPrecondition for other exec errors, InvalidArgument for an
// empty argv.
#ifndef BASE_PROCESS_H_
#define BASE_PROCESS_H_

#include <signal.h>
#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/fd.h"

namespace flaky {

// ExitStatus is how a process ended: an exit code, or the signal that
// killed it. The one rendering is ToString; the one conversion to the
// shell's convention is ShellCode.
struct ExitStatus {
  int code = 0;    // the exit code; -1 when killed by a signal
  int signal = 0;  // non-zero: the signal that killed the process

  // FromWaitStatus converts a status from waitpid(2).
  static ExitStatus FromWaitStatus(int wait_status);
  // Killed is the status of a process killed by `sig`.
  static ExitStatus Killed(int sig) { return ExitStatus{-1, sig}; }

  // Exited is true when the process exited (was not killed) with `expected`.
  bool Exited(int expected) const { return signal == 0 && code == expected; }
  // ToString renders "exit code 3" or "killed by signal 9".
  std::string ToString() const;
  // ShellCode is the code, or 128 + the signal, as a shell reports it.
  int ShellCode() const { return signal != 0 ? 128 + signal : code; }

  bool operator==(const ExitStatus& other) const {
    return code == other.code && signal == other.signal;
  }
};

// Output says where a child's stdout or stderr goes.
struct Output {
  enum class Kind { kInherit, kCapture, kFile };

  // Inherit: the caller's own stream.
  static Output Inherit() { return Output{}; }
  // Capture: into Process::stdout_text()/stderr_text(), keeping the first
  // `max_bytes` (the rest is read and dropped; the child never blocks).
  static Output Capture(
      size_t max_bytes = std::numeric_limits<size_t>::max()) {
    Output out;
    out.kind = Kind::kCapture;
    out.max_bytes = max_bytes;
    return out;
  }
  // File: created or truncated at `path`. The same path for stdout and
  // stderr shares one descriptor, so the two interleave instead of
  // overwriting each other.
  static Output File(std::string path) {
    Output out;
    out.kind = Kind::kFile;
    out.path = std::move(path);
    return out;
  }

  Kind kind = Kind::kInherit;
  size_t max_bytes = std::numeric_limits<size_t>::max();
  std::string path = "";
};

// SpawnOptions says what to start and how.
struct SpawnOptions {
  // argv[0] is looked up on PATH (ours) when it has no '/' and `program`
  // is empty.
  std::vector<std::string> argv = {};
  // program, when set, is the file executed instead of looking up argv[0]
  // (which the child still sees as its name).
  std::string program = "";
  // env, when set, is the child's whole environment ("K=V" each);
  // otherwise it inherits ours.
  std::optional<std::vector<std::string>> env = std::nullopt;
  // cwd is the child's working directory; "" inherits ours.
  std::string cwd = "";
  Output stdout_to = Output::Inherit();
  Output stderr_to = Output::Inherit();
  // inherit_stdin keeps our stdin; by default the child reads /dev/null.
  bool inherit_stdin = false;
  // new_process_group puts the child in a group of its own (so a
  // terminal's Ctrl-C reaches only us); Signal, WaitFor's kill and the
  // destructor then act on the whole group.
  bool new_process_group = false;
  // parent_death_signal is sent to the child when the thread that started
  // it dies (PR_SET_PDEATHSIG; 0: none). A child whose parent is already
  // gone when it would set it exits at once.
  int parent_death_signal = 0;
  // signal_mask is the child's signal mask at exec; default: nothing
  // blocked. default_signals resets SIGINT, SIGTERM and SIGPIPE to their
  // default action (an ignored signal otherwise stays ignored across exec).
  std::optional<sigset_t> signal_mask = std::nullopt;
  bool default_signals = true;
  // hold keeps the child waiting before exec until Release(): the caller
  // can act on its pid first (move it into a cgroup, pin it) so the
  // program starts already under those conditions.
  bool hold = false;
};

// Process is a started child, owned by one caller. Movable; not
// thread-safe. Destroying a Process whose child still runs SIGKILLs it
// (its group with new_process_group) and reaps it: no zombie, no orphan.
// ChildStreams are the descriptors a child is started with (process.cc).
struct ChildStreams;

class Process {
 public:
  // Spawn starts options.argv and returns once it has exec'd (or, with
  // `hold`, once it waits for Release). Errors: see the file comment.
  static absl::StatusOr<Process> Spawn(const SpawnOptions& options);

  // Fork starts a child that runs `body` (then exits 0) instead of a
  // program; options.argv[0], when given, names it in messages. Only
  // new_process_group, parent_death_signal, stdout_to/stderr_to and
  // inherit_stdin apply; the child keeps our signal mask. The child runs
  // C++ after fork: call it only while the calling process has one thread.
  // Unavailable when fork or a pipe fails.
  static absl::StatusOr<Process> Fork(const SpawnOptions& options,
                                      const std::function<void()>& body);

  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process();

  // pid is the child's process id (also its group id with
  // new_process_group).
  pid_t pid() const { return pid_; }

  // Release lets a held child exec and returns once it has: OK, or the
  // error of starting it (the child has then exited; Wait reaps it).
  // Unavailable when the child was gone before it could be released;
  // FailedPrecondition when it was not held or already released.
  absl::Status Release();

  // Poll returns the exit status once the child has ended (reaping it),
  // nullopt while it runs. Reads whatever captured output is waiting.
  // Never blocks.
  std::optional<ExitStatus> Poll();

  // Wait reads captured output to its end, then blocks until the child
  // ends and returns how it ended.
  ExitStatus Wait();

  // WaitFor waits up to `timeout` for the child to end. When it does not,
  // the child (its whole group with new_process_group) is SIGKILLed and
  // reaped, and WaitFor returns DeadlineExceeded ("<name> did not end
  // within <timeout>: killed"); exit_status() then says how it ended.
  absl::StatusOr<ExitStatus> WaitFor(absl::Duration timeout);

  // Signal sends `sig` to the child (its whole group with
  // new_process_group). Does nothing once the child has been reaped.
  void Signal(int sig);

  // exit_fd is a descriptor that poll(2) reports readable once the child
  // has ended (a pidfd), for waiting on many children at once; -1 without
  // one (kernels before 5.3) or once the child is reaped. Poll, Wait or
  // WaitFor still reap it.
  int exit_fd() const { return status_.has_value() ? -1 : pidfd_.get(); }

  // exit_status is how the child ended, once Poll, Wait or WaitFor has
  // seen it end.
  const std::optional<ExitStatus>& exit_status() const { return status_; }

  // The captured output so far (Output::Capture), and whether any was
  // dropped over its max_bytes.
  const std::string& stdout_text() const { return out_.text; }
  const std::string& stderr_text() const { return err_.text; }
  bool stdout_truncated() const { return out_.truncated; }
  bool stderr_truncated() const { return err_.truncated; }

 private:
  struct Capture {
    Fd fd;
    size_t max_bytes = 0;
    std::string text;
    bool truncated = false;
  };

  Process() = default;
  // Adopt makes the Process of a child just forked: closes the child's ends
  // of `streams`, sets its group, keeps the capture pipes and a pidfd.
  static Process Adopt(const std::string& name, pid_t pid, const SpawnOptions& options,
                       ChildStreams& streams);
  // Abandon kills and reaps a child that still runs.
  void Abandon();

  // Pump reads captured output until both pipes are at end of file or
  // `timeout_ms` has passed (-1: no limit; 0: only what is waiting).
  void Pump(int timeout_ms);
  void Reap(int wait_status);

  std::string name_;
  pid_t pid_ = -1;
  bool own_group_ = false;
  std::optional<ExitStatus> status_;
  Capture out_;
  Capture err_;
  Fd go_;           // held: writing a byte lets the child exec
  Fd exec_error_;   // held: the child's exec error, EOF when it exec'd
  Fd pidfd_;        // readable once the child has ended (-1: no pidfd)
  std::string cwd_;  // held: for the message of a failed chdir
};

// RunResult is a finished child and its captured output.
struct RunResult {
  ExitStatus status;
  std::string stdout_text;
  std::string stderr_text;
};

// RunProcess spawns `options`, reads its captured output to the end and waits
// for it. A non-zero exit is a result, not an error; errors are Spawn's.
absl::StatusOr<RunResult> RunProcess(const SpawnOptions& options);

// FindOnPath returns the first regular executable file named `program` in
// the directories of `path_env` (a PATH value), or NotFound ("<program>
// not found on PATH (<path_env>): install it or put it on PATH").
absl::StatusOr<std::string> FindOnPath(const std::string& program,
                                       const std::string& path_env);

}  // namespace flaky

#endif  // BASE_PROCESS_H_
