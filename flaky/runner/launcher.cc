#include "flaky/runner/launcher.h"

#include <poll.h>
#include <signal.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "base/process.h"
#include "base/status_macros.h"

namespace flaky::runner {
namespace {

class PosixProcess : public Process {
 public:
  explicit PosixProcess(::flaky::Process process)
      : process_(std::move(process)) {}

  // Dropping a running PosixProcess SIGKILLs its group and reaps it
  // (flaky::Process): no zombie, no orphaned bazel.

  std::optional<ExitStatus> Poll() override { return process_.Poll(); }
  ExitStatus Wait() override { return process_.Wait(); }
  void Interrupt() override { process_.Signal(SIGINT); }
  void Kill() override { process_.Signal(SIGKILL); }
  int ExitFd() override { return process_.exit_fd(); }

 private:
  ::flaky::Process process_;
};

SpawnOptions ToSpawnOptions(const Command& command) {
  SpawnOptions options;
  options.argv = command.argv;
  options.env = command.environment;
  options.cwd = command.working_dir;
  options.new_process_group = true;
  options.parent_death_signal = command.parent_death_signal;
  return options;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Process>> PosixLauncher::Start(
    const Command& command) {
  SpawnOptions options = ToSpawnOptions(command);
  if (!command.stdout_path.empty()) {
    options.stdout_to = Output::File(command.stdout_path);
  }
  if (!command.stderr_path.empty()) {
    options.stderr_to = Output::File(command.stderr_path);
  }
  FLAKY_ASSIGN_OR_RETURN(::flaky::Process process,
                         ::flaky::Process::Spawn(options));
  return std::make_unique<PosixProcess>(std::move(process));
}

absl::StatusOr<CommandResult> PosixLauncher::Run(const Command& command) {
  SpawnOptions options = ToSpawnOptions(command);
  options.stdout_to = Output::Capture();
  options.stderr_to = Output::Capture();
  FLAKY_ASSIGN_OR_RETURN(RunResult run, RunProcess(options));
  return CommandResult{run.status, std::move(run.stdout_text),
                       std::move(run.stderr_text)};
}

void SleepUntilAnyEnds(const std::vector<Process*>& processes, Clock& clock,
                       absl::Duration longest) {
  std::vector<pollfd> fds;
  for (Process* process : processes) {
    const int fd = process->ExitFd();
    if (fd < 0) {
      clock.SleepFor(longest);
      return;
    }
    fds.push_back({.fd = fd, .events = POLLIN, .revents = 0});
  }
  if (fds.empty()) return;
  poll(fds.data(), fds.size(), static_cast<int>(absl::ToInt64Milliseconds(longest)));
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
