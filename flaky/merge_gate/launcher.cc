#include "flaky/merge_gate/launcher.h"

#include <string>
#include <utility>

#include "base/process.h"
#include "base/status_macros.h"

namespace flaky::merge_gate {

absl::StatusOr<ProcessResult> SubprocessLauncher::Run(const Command& command) {
  SpawnOptions options;
  options.argv = command.argv;
  options.cwd = command.working_dir;
  // The gate's children read what the gate reads and stay in its process
  // group (launcher.h).
  options.inherit_stdin = true;
  if (command.capture_output) {
    options.stdout_to = Output::Capture();
    options.stderr_to = Output::Capture();
  }
  FLAKY_ASSIGN_OR_RETURN(RunResult run, RunProcess(options));
  ProcessResult result;
  result.exit_code = run.status.ShellCode();
  result.stdout_text = std::move(run.stdout_text);
  result.stderr_text = std::move(run.stderr_text);
  return result;
}

}  // namespace flaky::merge_gate
