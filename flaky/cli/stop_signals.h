// Ctrl-C and SIGTERM as a request to stop: the handler only sets a flag
// the hunt polls, so the hunt can stop Bazel, store what completed and mark
// itself interrupted. A second signal while stopping ends the process at
// once (the user means it).
//
//   std::atomic<bool> stop{false};
//   InstallStopSignals(&stop);  // once, in main
//   ... RunHunt(options, {..., .stop = &stop}) ...
#ifndef FLAKY_CLI_STOP_SIGNALS_H_
#define FLAKY_CLI_STOP_SIGNALS_H_

#include <atomic>

#include "absl/status/status.h"

namespace flaky::cli {

// InstallStopSignals makes SIGINT and SIGTERM set `*stop` (which must
// outlive the process's use of it); the second such signal restores the
// default action and re-raises it. Internal when sigaction fails. Call once,
// from main: a POSIX handler has no context argument, so the flag's address
// is the one process-wide variable this file keeps.
absl::Status InstallStopSignals(std::atomic<bool>* stop);

// StopSignalCount is how many stop signals arrived since installation.
int StopSignalCount();

}  // namespace flaky::cli

#endif  // FLAKY_CLI_STOP_SIGNALS_H_
