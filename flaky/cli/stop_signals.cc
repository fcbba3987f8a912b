#include "flaky/cli/stop_signals.h"

#include <signal.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace flaky::cli {
namespace {

// The handler's only way to reach the flag (see the header). Lock-free
// atomics are async-signal-safe.
std::atomic<std::atomic<bool>*> g_stop{nullptr};
std::atomic<std::atomic<bool>*> g_hurry{nullptr};
std::atomic<int> g_count{0};

void OnStopSignal(int) {
  const int previous = g_count.fetch_add(1);
  std::atomic<bool>* flag = previous == 0   ? g_stop.load()
                            : previous == 1 ? g_hurry.load()
                                            : nullptr;
  if (flag != nullptr) flag->store(true);
}

}  // namespace

absl::Status InstallStopSignals(std::atomic<bool>* stop, std::atomic<bool>* hurry) {
  g_stop.store(stop);
  g_hurry.store(hurry);
  g_count.store(0);
  struct sigaction action;
  std::memset(&action, 0, sizeof(action));
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  // No SA_RESTART: a blocking read or wait returns EINTR and the loop
  // around it notices the flag sooner.
  action.sa_flags = 0;
  for (int signal_number : {SIGINT, SIGTERM}) {
    if (sigaction(signal_number, &action, nullptr) != 0) {
      return absl::InternalError(absl::StrCat(
          "sigaction(", signal_number, ") failed: ", std::strerror(errno)));
    }
  }
  return absl::OkStatus();
}

int StopSignalCount() { return g_count.load(); }

}  // namespace flaky::cli
