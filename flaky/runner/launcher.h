// Starting subprocesses (bazel, git) behind an interface, so the runner's
// logic can be unit-tested with a scripted launcher and run for real with
// PosixLauncher.
//
//   PosixLauncher launcher;
//   absl::StatusOr<CommandResult> query =
//       launcher.Run({.argv = {"bazel", "query", "//tests/..."}});
//   absl::StatusOr<std::unique_ptr<Process>> test =
//       launcher.Start({.argv = {"bazel", "test", "//t"},
//                       .stderr_path = "/tmp/hunt/bazel.log"});
//   while (!(*test)->Poll()) { ... read the BEP file ... }
#ifndef FLAKY_RUNNER_LAUNCHER_H_
#define FLAKY_RUNNER_LAUNCHER_H_

#include <memory>
#include <optional>
#include <atomic>
#include <csignal>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/process.h"
#include "flaky/runner/clock.h"

namespace flaky::runner {

// Command is a program to start.
struct Command {
  // argv[0] is looked up on PATH when it has no '/'.
  std::vector<std::string> argv = {};
  // working_dir is the child's current directory; "" inherits ours.
  std::string working_dir = "";
  // stdout_path/stderr_path receive the child's output (created or
  // truncated; the same path for both interleaves them); "" inherits
  // ours. Used by Start only; Run captures.
  std::string stdout_path = "";
  std::string stderr_path = "";
  // parent_death_signal is sent to the child when the thread that started
  // it dies (PR_SET_PDEATHSIG; 0: none). SIGINT by default: a flaky killed
  // by SIGKILL, or by a second Ctrl-C, then cancels its Bazel command the
  // way a Ctrl-C would, instead of leaving it running its rounds unwatched.
  int parent_death_signal = SIGINT;
  // environment, when set, is the child's whole environment ("K=V" each)
  // instead of ours: a test run directly gets exactly what Bazel would give
  // it (direct.h).
  std::optional<std::vector<std::string>> environment = std::nullopt;
};

// ExitStatus is how a process ended (base/process.h).
using ::flaky::ExitStatus;

// CommandResult is a finished, captured Run.
struct CommandResult {
  ExitStatus status;
  std::string stdout_text;
  std::string stderr_text;
};

// Process is a started child. Not thread-safe: one owner polls it.
class Process {
 public:
  virtual ~Process() = default;

  // Poll returns the exit status once the process has ended, nullopt while
  // it runs. Never blocks.
  virtual std::optional<ExitStatus> Poll() = 0;

  // Wait blocks until the process ends and returns its status.
  virtual ExitStatus Wait() = 0;

  // Interrupt asks the process to stop as Ctrl-C would (SIGINT to its
  // process group; Bazel then cancels its actions and exits).
  virtual void Interrupt() = 0;

  // Kill ends the process group at once (SIGKILL).
  virtual void Kill() = 0;

  // ExitFd is a descriptor poll(2) reports readable once the process has
  // ended, so a caller running many can sleep until one ends instead of
  // polling each; -1 when there is none (test doubles, old kernels).
  virtual int ExitFd() { return -1; }
};

// Launcher starts processes. Implementations are thread-compatible.
class Launcher {
 public:
  virtual ~Launcher() = default;

  // Start starts `command` and returns at once. The child gets its own
  // process group, so a terminal's Ctrl-C reaches only us and we decide how
  // to stop it. Errors are flaky::Process::Spawn's ("cannot start <argv0>:
  // <why>"): NotFound when argv[0] or the working directory does not
  // exist, InvalidArgument for an empty argv, Unavailable when an output
  // file cannot be opened.
  virtual absl::StatusOr<std::unique_ptr<Process>> Start(
      const Command& command) = 0;

  // Run starts `command`, captures its stdout and stderr and waits for it.
  // A non-zero exit is a result, not an error; errors are Start's.
  virtual absl::StatusOr<CommandResult> Run(const Command& command) = 0;
};

// PosixLauncher starts real processes (flaky::Process).
class PosixLauncher : public Launcher {
 public:
  absl::StatusOr<std::unique_ptr<Process>> Start(
      const Command& command) override;
  absl::StatusOr<CommandResult> Run(const Command& command) override;
};

// FindOnPath finds a program on a PATH value (base/process.h).
using ::flaky::FindOnPath;

// SleepUntilAnyEnds sleeps until one of `processes` ends or `longest` has
// passed, whichever comes first: a caller polling processes wakes at an
// end instead of up to `longest` later. When one has no ExitFd (a test
// double) it sleeps `longest` on `clock`.
void SleepUntilAnyEnds(const std::vector<Process*>& processes, Clock& clock,
                       absl::Duration longest);

// SleepUntilEnd is SleepUntilAnyEnds for one process.
inline void SleepUntilEnd(Process& process, Clock& clock, absl::Duration longest) {
  SleepUntilAnyEnds({&process}, clock, longest);
}

// StopProcess interrupts `process`, gives it `grace` (on `clock`) to end,
// then kills it, and returns how it ended. When `hurry` is set (at once or
// during the grace), the grace ends there and the process is killed.
ExitStatus StopProcess(Process& process, absl::Duration grace, Clock& clock,
                       const std::atomic<bool>* hurry = nullptr);

}  // namespace flaky::runner

#endif  // FLAKY_RUNNER_LAUNCHER_H_
