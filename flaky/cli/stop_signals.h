// Ctrl-C and SIGTERM as a request to stop: the handler only sets flags
// the hunt polls, so the hunt can stop Bazel, store what completed and mark
// itself interrupted. The first signal asks for a graceful stop (Bazel gets
// its grace to cancel); a second one (the user means it, or `timeout` and a
// CI runner both signalling) asks to hurry: Bazel is killed at once, the
// completed trials are still stored, and flaky exits. Later signals are
// ignored, so flaky never dies with Bazel still running under it.
//
//   std::atomic<bool> stop{false};
//   std::atomic<bool> hurry{false};
//   InstallStopSignals(&stop, &hurry);  // once, in main
//   ... RunHunt(options, {..., .stop = &stop, .hurry = &hurry}) ...
#ifndef FLAKY_CLI_STOP_SIGNALS_H_
#define FLAKY_CLI_STOP_SIGNALS_H_

#include <atomic>

#include "absl/status/status.h"

namespace flaky::cli {

// InstallStopSignals makes the first SIGINT or SIGTERM set `*stop` and the
// second set `*hurry` (both must outlive the process's use of them; `hurry`
// may be null: then the second signal is ignored too); later ones are
// ignored. Internal when sigaction fails. Call once, from main: a POSIX
// handler has no context argument, so the flags' addresses are the one
// process-wide state this file keeps.
absl::Status InstallStopSignals(std::atomic<bool>* stop,
                                std::atomic<bool>* hurry = nullptr);

// StopSignalCount is how many stop signals arrived since installation.
int StopSignalCount();

}  // namespace flaky::cli

#endif  // FLAKY_CLI_STOP_SIGNALS_H_
