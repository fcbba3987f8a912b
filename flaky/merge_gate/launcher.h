// Runs child processes (git, bazel, flaky) for the merge gate, behind an
// interface so the selection logic can be unit-tested without them.
//
// Unlike flaky/runner's launcher, which gives each child its own process
// group so the hunt decides how to stop Bazel, these children stay in the
// caller's group: the merge gate only waits, so a Ctrl-C or a CI job's
// cancellation must reach the gate it runs directly.
//
//   SubprocessLauncher launcher;
//   Command command;
//   command.argv = {"git", "rev-parse", "HEAD"};
//   command.working_dir = "/src/workspace";
//   FLAKY_ASSIGN_OR_RETURN(ProcessResult result, launcher.Run(command));
//   if (result.exit_code != 0) { ... result.stderr_text ... }
#ifndef FLAKY_MERGE_GATE_LAUNCHER_H_
#define FLAKY_MERGE_GATE_LAUNCHER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace flaky::merge_gate {

// Command is one process to start: argv[0] is looked up on PATH when it has
// no slash; the environment is inherited from the caller.
struct Command {
  std::vector<std::string> argv;
  // Directory the child starts in; empty means the caller's.
  std::string working_dir;
  // When true the child's stdout and stderr are collected into the result;
  // when false they are the caller's own (a long gate run streams its
  // progress to the CI log as it happens).
  bool capture_output = true;
};

// ProcessResult is how a child ended.
struct ProcessResult {
  // The child's exit status, or 128 + N when signal N killed it (the
  // shell's convention, so CI logs read the same: ExitStatus::ShellCode).
  int exit_code = 0;
  // Collected output; empty when Command::capture_output is false.
  std::string stdout_text;
  std::string stderr_text;
};

// Launcher starts a command and waits for it to end.
class Launcher {
 public:
  virtual ~Launcher() = default;

  // Run starts `command`, waits for it and returns how it ended; a non-zero
  // exit is a result, not an error. Errors ("cannot start <argv0>: <why>"):
  // InvalidArgument for an empty argv, NotFound when the program or the
  // working directory does not exist, Unavailable when the process cannot
  // be created.
  virtual absl::StatusOr<ProcessResult> Run(const Command& command) = 0;
};

// SubprocessLauncher runs commands as real child processes (flaky::Process).
// Thread-compatible: Run may be called from several threads at once, each
// call owning its child.
class SubprocessLauncher : public Launcher {
 public:
  absl::StatusOr<ProcessResult> Run(const Command& command) override;
};

}  // namespace flaky::merge_gate

#endif  // FLAKY_MERGE_GATE_LAUNCHER_H_
