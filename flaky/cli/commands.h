// The `flaky` commands, one function each: it takes its options (main
// copies them from the flags), the Context (context.h, resolved once) and
// its Io, prints what the command prints and returns the command's exit
// code. Errors are Statuses main turns into exit codes: InvalidArgument
// is a usage error (a bad argument, value or target), Cancelled an
// interrupted hunt, anything else the environment's.
//
//   PosixLauncher launcher;
//   RealClock clock;
//   std::atomic<bool> stop{false};  // set by InstallStopSignals
//   Io io{.out = &std::cout, .err = &std::cerr, .err_is_tty = true,
//         .launcher = &launcher, .clock = &clock, .stop = &stop};
//   HuntCommandOptions options;
//   options.targets = {"//tests/race:already_running_original"};
//   options.profiles = {"none", "chaos:1"};
//   options.runs = 500;
//   absl::StatusOr<int> exit_code = GateCommand(options, context, io);
//   // 0 every target CLEAN, 1 one FLAKY, 2 undecided
//
// Thread-compatible: one command at a time per Io.
#ifndef FLAKY_CLI_COMMANDS_H_
#define FLAKY_CLI_COMMANDS_H_

#include <atomic>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "flaky/cli/context.h"
#include "flaky/results/log_keeper.h"
#include "flaky/runner/bazel_command.h"
#include "flaky/runner/clock.h"
#include "flaky/runner/launcher.h"
#include "flaky/stats/verdict.h"

namespace flaky::cli {

// Io is what a command talks to besides its options and context. Every
// pointer is required and must outlive the call.
struct Io {
  std::ostream* out = nullptr;  // results: the hunt's summary, reports, plans
  std::ostream* err = nullptr;  // progress and messages
  bool err_is_tty = false;      // progress rewrites its line in place
  runner::Launcher* launcher = nullptr;  // Bazel
  runner::Clock* clock = nullptr;
  // stop is set by Ctrl-C or SIGTERM: a hunt stops Bazel, keeps what
  // completed and returns Cancelled; `serve` returns 0.
  const std::atomic<bool>* stop = nullptr;
  // hurry is set by a second Ctrl-C or SIGTERM: Bazel is killed at once,
  // completed trials are still stored (stop_signals.h). Optional.
  const std::atomic<bool>* hurry = nullptr;
};

// MetricsOutputs are a hunt's metric outputs; "" turns one off.
struct MetricsOutputs {
  std::string listen_address;   // live /metrics while the hunt runs
  std::string pushgateway_url;  // periodic and final pushes
  absl::Duration push_interval = absl::Seconds(30);
  std::string textfile;         // written at the end; relative to the user
};

// HuntCommandOptions are what `flaky hunt` and `flaky gate` were asked
// (and `flaky verify`, which names its targets itself).
struct HuntCommandOptions {
  std::vector<std::string> targets;  // labels or patterns, as typed
  // profiles as the flag parser split them (at every comma: they are
  // joined again and split as profiles are); "auto" alone searches.
  std::vector<std::string> profiles = {"none"};
  // runs per profile; 0 picks 100, or with until_decided the runs CLEAN
  // takes at gate.max_rate and gate.confidence (divided by repeat).
  int runs = 0;
  absl::Duration budget = absl::ZeroDuration();
  bool until_decided = false;
  int round_runs = 0;  // 0 picks (runner::HuntOptions::round_runs)
  int repeat = 1;
  runner::BazelSetup bazel;  // extra_flags: what followed `--`
  // starve_wrapper is the wrapper's label; "auto" tries flaky's own and
  // then @flaky's; "" hunts without it (profile none only).
  std::string starve_wrapper = "auto";
  bool allow_fallback = false;
  std::vector<std::string> fixes;  // ORIGINAL=FIXED pairs for the report
  std::string report_dir;          // "" writes no files; relative to the user
  stats::GateOptions gate;         // the verdict rule (max_rate, confidence)
  MetricsOutputs metrics;
  absl::Duration stop_grace = absl::Seconds(30);
  // max_log_bytes caps what is read and kept of each run's test.log.
  int64_t max_log_bytes = results::kDefaultMaxLogBytes;
  // mode "direct" runs the test binaries itself after the build, `jobs` at
  // once (0: one per CPU); "bazel" runs `bazel test` (runner/direct.h).
  std::string mode = "bazel";
  int jobs = 0;
  std::string command_line;  // recorded with the hunt
};

// HuntCommand hunts options.targets, stores every trial and prints the
// hunt's first line and the report (the plain table when nothing can be
// judged). Returns 0 whatever it found. Errors: InvalidArgument for bad
// options, profiles or targets; Cancelled (with how much was stored) when
// io.stop ended it; the runner's errors otherwise (runner/hunt.h).
absl::StatusOr<int> HuntCommand(const HuntCommandOptions& options,
                                const Context& context, const Io& io);

// GateCommand hunts like HuntCommand, then returns the verdict's exit code:
// 0 every target CLEAN, 1 one FLAKY, 2 one INCONCLUSIVE (stats::GateExitCode).
// Errors as HuntCommand, and InvalidArgument without targets.
absl::StatusOr<int> GateCommand(const HuntCommandOptions& options,
                                const Context& context, const Io& io);

// VerifyCommandOptions are what `flaky verify` was asked.
struct VerifyCommandOptions {
  std::string baseline;   // the original target
  std::string candidate;  // the fixed target
  // hunt: how to hunt both (its targets must be empty: verify names them,
  // and its fixes are replaced by BASELINE=CANDIDATE).
  HuntCommandOptions hunt;
};

// VerifyCommand hunts both targets in the same Bazel invocations, prints
// the report and, per profile, both verdicts and Fisher's test; returns 0
// when the baseline is FLAKY and the candidate CLEAN under every profile,
// 2 when not yet. Errors as HuntCommand; InvalidArgument without both
// targets or with positional ones.
absl::StatusOr<int> VerifyCommand(const VerifyCommandOptions& options,
                                  const Context& context, const Io& io);

// PlanCommandOptions are what `flaky plan` was asked.
struct PlanCommandOptions {
  std::vector<std::string> args;  // positional arguments: none are taken
  stats::GateOptions gate;        // max_rate, confidence
  int allowed_failures = 0;
  // boundaries prints the verdict rule's table up to up_to runs instead.
  bool boundaries = false;
  int64_t up_to = 10000;
};

// PlanCommand prints how many runs a claim at options.gate takes (or the
// rule's boundaries) and returns 0. InvalidArgument for arguments or bad
// rates.
absl::StatusOr<int> PlanCommand(const PlanCommandOptions& options,
                                const Context& context, const Io& io);

// ReportCommandOptions are what `flaky report` was asked.
struct ReportCommandOptions {
  std::vector<std::string> targets;  // only these; empty: every target
  std::vector<std::string> fixes;    // ORIGINAL=FIXED pairs
  std::string report_dir;            // "" writes no files; relative to the user
  stats::GateOptions gate;
};

// ReportCommand prints the report of the stored trials of context's store
// (of context.hunt_id when it was given) and returns 0. First, when the
// store may be written, it settles the hunts of this host whose process
// died (runner/recovery.h: the runs Bazel finished stored, the hunt
// marked abandoned) and says so on io.err. NotFound without a store;
// FailedPrecondition when nothing stored matches.
absl::StatusOr<int> ReportCommand(const ReportCommandOptions& options,
                                  const Context& context, const Io& io);

// ServeCommandOptions are what `flaky serve` was asked.
struct ServeCommandOptions {
  std::vector<std::string> args;  // positional arguments: none are taken
  std::string address;            // "" is metrics::kDefaultMetricsAddress
  stats::GateOptions gate;
};

// ServeCommand serves /metrics computed from the store at every scrape,
// prints its URL and returns 0 once io.stop is set. NotFound without a
// store; InvalidArgument for arguments or a bad address.
absl::StatusOr<int> ServeCommand(const ServeCommandOptions& options,
                                 const Context& context, const Io& io);

}  // namespace flaky::cli

#endif  // FLAKY_CLI_COMMANDS_H_
