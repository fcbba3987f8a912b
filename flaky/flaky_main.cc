// flaky: finds, measures and verifies flaky Bazel tests by starving them of
// CPU. This file owns the flags (each with a FLAKY_<FLAG> twin), the command
// table, flags-to-options copying and ExitCodeFor; the commands are cli's.
//
//   bazel run //flaky -- hunt //tests/race:already_running_original
//       --profiles=none,cgroup:20,hogs:2 --runs=500
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "base/status_macros.h"
#include "flaky/cli/commands.h"
#include "flaky/cli/context.h"
#include "flaky/cli/flags.h"
#include "flaky/cli/stop_signals.h"
#include "flaky/cli/subcommands.h"
#include "flaky/runner/clock.h"
#include "flaky/runner/launcher.h"
#include "flaky/stats/verdict.h"

ABSL_FLAG(std::vector<std::string>, profiles, {"none"},
          "comma-separated starvation profiles to hunt under, one Bazel "
          "invocation each: none, taskset:CPUS, cgroup:PCT[/PERIOD_US], "
          "hogs:N, chaos:SEED, env:K=V; compose with '+', e.g. "
          "taskset:0+hogs:2. 'auto' alone searches a family of profiles for "
          "the one that exposes failures fastest");
ABSL_FLAG(int, runs, 0,
          "runs per profile (the most with --until_decided; ignored with --budget); "
          "0: 100, or with --until_decided the runs CLEAN takes (3332 at 0.1%)");
ABSL_FLAG(absl::Duration, budget, absl::ZeroDuration(),
          "hunt for about this long (e.g. 60s) instead of a number of runs");
ABSL_FLAG(bool, until_decided, false,
          "run in rounds until every target has its verdict (the report's rule, "
          "valid however often it is checked) or --runs is reached");
ABSL_FLAG(int, round_runs, 0,
          "runs per round; 0: all of --runs, 10 then sized for --budget, 50 else");
ABSL_FLAG(int, repeat, 1,
          "in-process repetitions per run (--gtest_repeat): this many trials per "
          "case and run, sharing process state (the report says so)");
ABSL_FLAG(std::string, store, "",
          "the SQLite trials database; default flaky.db in the workspace");
ABSL_FLAG(std::string, bazel, "bazel", "the Bazel to run (name on PATH or path)");
ABSL_FLAG(std::string, bazel_startup_flags, "",
          "space-separated Bazel startup flags, e.g. --output_base=/tmp/ob");
ABSL_FLAG(std::string, starve_wrapper, "auto",
          "the starve wrapper's label for --run_under; 'auto' tries flaky's own "
          "and then @flaky//flaky/starve:starve; '' runs without it (none only)");
ABSL_FLAG(bool, allow_fallback, false,
          "let the wrapper skip parts it cannot apply (recorded) instead of failing");
ABSL_FLAG(std::string, hunt_id, "",
          "name of the hunt in the store; default: start time and pid");
ABSL_FLAG(std::vector<std::string>, fixes, {},
          "fix verifications for the report: comma-separated ORIGINAL=FIXED "
          "target pairs, compared under every profile, e.g. //t:orig=//t:fixed");
ABSL_FLAG(std::string, report_dir, "",
          "also write the report (report.md, .svg, .json, .junit.xml) here");
ABSL_FLAG(double, max_rate, 0.001,
          "the report's verdicts: the flake rate a test must be below, at "
          "--confidence, to be CLEAN");
ABSL_FLAG(double, confidence, 0.95, "the report's confidence level");
ABSL_FLAG(std::string, metrics_address, "",
          "hunt: serve live metrics at HOST:PORT while it runs (\"\" = off); "
          "serve: the address of /metrics (default 127.0.0.1:9477; 0.0.0.0 "
          "only if you mean it)");
ABSL_FLAG(std::string, pushgateway, "",
          "push metrics to this Prometheus Pushgateway URL during and at the "
          "end of a hunt, grouped by job, instance (host) and commit");
ABSL_FLAG(absl::Duration, push_interval, absl::Seconds(30),
          "time between pushes to --pushgateway during a long hunt");
ABSL_FLAG(std::string, textfile, "",
          "write the hunt's metrics to this node_exporter textfile "
          "(atomically) at the end");
ABSL_FLAG(std::string, baseline, "",
          "verify: the target the fix is measured against (the original)");
ABSL_FLAG(std::string, candidate, "",
          "verify: the target with the fix; both run in the same Bazel "
          "invocations, so machine noise hits both alike");
ABSL_FLAG(int, allowed_failures, 0,
          "plan: failures the claim may include (0: the zero-failure claim)");
ABSL_FLAG(bool, boundaries, false,
          "plan: print the verdict rule, one row per run count up to --up_to: runs, "
          "fewest failures for FLAKY, most for CLEAN (-1: impossible)");
ABSL_FLAG(int64_t, up_to, 10000, "plan --boundaries: the last run count");
ABSL_FLAG(int64_t, max_log_bytes, flaky::results::kDefaultMaxLogBytes,
          "read and keep at most this many bytes of a run's test.log (head and tail)");
ABSL_FLAG(std::string, mode, "bazel",
          "bazel: every run is a `bazel test` run; direct: Bazel builds, flaky runs "
          "the test binaries itself, a fresh process per run, --jobs at once");
ABSL_FLAG(int, jobs, 0, "--mode=direct: runs at once (0: one per CPU)");
ABSL_FLAG(absl::Duration, stop_grace, absl::Seconds(30),
          "on Ctrl-C/SIGTERM, how long Bazel may take to stop before a kill");

namespace cli = ::flaky::cli;

namespace {

flaky::stats::GateOptions GateFlags() {
  return {absl::GetFlag(FLAGS_max_rate), absl::GetFlag(FLAGS_confidence)};
}

cli::HuntCommandOptions HuntFlags(const cli::Invocation& invocation,
                                  const std::string& command_line) {
  cli::HuntCommandOptions options;
  options.targets = invocation.args;
  options.profiles = absl::GetFlag(FLAGS_profiles);
  options.runs = absl::GetFlag(FLAGS_runs);
  options.budget = absl::GetFlag(FLAGS_budget);
  options.until_decided = absl::GetFlag(FLAGS_until_decided);
  options.round_runs = absl::GetFlag(FLAGS_round_runs);
  options.repeat = absl::GetFlag(FLAGS_repeat);
  options.bazel.bazel = absl::GetFlag(FLAGS_bazel);
  options.bazel.startup_flags =
      absl::StrSplit(absl::GetFlag(FLAGS_bazel_startup_flags), ' ', absl::SkipEmpty());
  options.bazel.extra_flags = invocation.passthrough;
  options.starve_wrapper = absl::GetFlag(FLAGS_starve_wrapper);
  options.allow_fallback = absl::GetFlag(FLAGS_allow_fallback);
  options.fixes = absl::GetFlag(FLAGS_fixes);
  options.report_dir = absl::GetFlag(FLAGS_report_dir);
  options.gate = GateFlags();
  options.metrics = {absl::GetFlag(FLAGS_metrics_address), absl::GetFlag(FLAGS_pushgateway),
                     absl::GetFlag(FLAGS_push_interval), absl::GetFlag(FLAGS_textfile)};
  options.stop_grace = absl::GetFlag(FLAGS_stop_grace);
  options.max_log_bytes = absl::GetFlag(FLAGS_max_log_bytes);
  options.mode = absl::GetFlag(FLAGS_mode);
  options.jobs = absl::GetFlag(FLAGS_jobs);
  options.command_line = command_line;
  return options;
}

// ExitCodeFor turns how `command` ended into the exit code, on every path:
// its own code (a verdict) on success, 130 (SIGINT's) when interrupted, its
// usage code for InvalidArgument (an unknown flag, a bad value or FLAKY_*
// twin, a bad argument or target), its error code for the rest; usage
// errors before a command is known (`command` null) exit 2.
int ExitCodeFor(const cli::Subcommand* command, const absl::StatusOr<int>& result) {
  if (result.ok()) return *result;
  if (absl::IsCancelled(result.status())) return 130;
  if (command == nullptr) return 2;
  return absl::IsInvalidArgument(result.status()) ? command->usage_exit_code
                                                  : command->error_exit_code;
}

// Exit says why `command` failed, in one line, and returns its exit code.
int Exit(const cli::Subcommand* command, const absl::StatusOr<int>& result) {
  if (!result.ok()) {
    std::cerr << "flaky" << (command == nullptr ? "" : " " + command->name) << ": "
              << result.status().message() << "\n";
  }
  return ExitCodeFor(command, result);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string command_line = absl::StrJoin(argv, argv + argc, " ");
  flaky::runner::PosixLauncher launcher;
  flaky::runner::RealClock clock;
  std::atomic<bool> stop{false};
  std::atomic<bool> hurry{false};
  const cli::Io io{&std::cout, &std::cerr, isatty(STDERR_FILENO) == 1, &launcher, &clock,
                   &stop, &hurry};
  cli::Context context;  // resolved once the flags are parsed
  // Hunts and serve stop on Ctrl-C/SIGTERM by themselves; plan and report die of it.
  auto stoppable = [&stop, &hurry] { return cli::InstallStopSignals(&stop, &hurry); };
  const int gate_usage = flaky::stats::kGateExitUsage;  // 3: never a verdict
  const std::vector<cli::Subcommand> commands = {
      {"hunt", "TARGETS... [--profiles=P,...] [--runs=N|--budget=D|--until_decided] [-- BAZEL_FLAGS]",
       "rerun test targets under starvation profiles and record every trial in the store",
       [&](const cli::Invocation& in) -> absl::StatusOr<int> {
         FLAKY_RETURN_IF_ERROR(stoppable());
         return cli::HuntCommand(HuntFlags(in, command_line), context, io);
       },
       /*usage_exit_code=*/2, /*error_exit_code=*/1},
      {"gate", "TARGETS... [--max_rate=R --confidence=C] [hunt flags] [-- BAZEL_FLAGS]",
       "hunt, then exit 0 when every target is CLEAN, 1 when one is FLAKY, 2 when "
       "undecided within the budget, 3 on usage or environment errors",
       [&](const cli::Invocation& in) -> absl::StatusOr<int> {
         FLAKY_RETURN_IF_ERROR(stoppable());
         return cli::GateCommand(HuntFlags(in, command_line), context, io);
       },
       gate_usage, gate_usage},
      {"verify", "--baseline=ORIGINAL --candidate=FIXED [hunt flags]",
       "hunt both in the same Bazel invocations; exit 0 when the baseline is FLAKY "
       "and the candidate CLEAN under every profile, 2 when not yet",
       [&](const cli::Invocation& in) -> absl::StatusOr<int> {
         FLAKY_RETURN_IF_ERROR(stoppable());
         return cli::VerifyCommand({absl::GetFlag(FLAGS_baseline),
                                    absl::GetFlag(FLAGS_candidate), HuntFlags(in, command_line)},
                                   context, io);
       },
       gate_usage, gate_usage},
      {"plan", "[--max_rate=R] [--confidence=C] [--allowed_failures=K] [--boundaries --up_to=N]",
       "runs needed to claim a rate below R, and to see a failure at R; "
       "--boundaries prints the verdict rule as a table",
       [&](const cli::Invocation& in) {
         return cli::PlanCommand({in.args, GateFlags(), absl::GetFlag(FLAGS_allowed_failures),
                                  absl::GetFlag(FLAGS_boundaries), absl::GetFlag(FLAGS_up_to)},
                                 context, io);
       },
       2, 1},
      {"report", "[TARGETS...] [--store=PATH] [--hunt_id=ID] [--report_dir=DIR]",
       "the report of stored trials, without running anything",
       [&](const cli::Invocation& in) {
         return cli::ReportCommand({in.args, absl::GetFlag(FLAGS_fixes),
                                    absl::GetFlag(FLAGS_report_dir), GateFlags()},
                                   context, io);
       },
       2, 1},
      {"serve", "[--store=PATH] [--metrics_address=127.0.0.1:9477]",
       "serve the store's flake metrics to Prometheus at /metrics",
       [&](const cli::Invocation& in) -> absl::StatusOr<int> {
         FLAKY_RETURN_IF_ERROR(stoppable());
         return cli::ServeCommand(
             {in.args, absl::GetFlag(FLAGS_metrics_address), GateFlags()}, context, io);
       },
       2, 1},
  };
  const std::vector<std::string> known = cli::FlagsDefinedIn("flaky/flaky_main.cc");
  const cli::SplitArgs split = cli::SplitAtDoubleDash(argc, argv);
  // Every flag of this file has a twin, so a new flag cannot forget one.
  const absl::Status env = cli::ApplyEnvironmentTwins(known, std::getenv);
  const cli::ParsedFlags parsed = cli::ParseFlags(split.ours, known);
  if (parsed.help) {
    std::cout << cli::UsageText("flaky", commands) << "\n\nFlags:\n" << cli::FlagsHelp(known);
    return 0;
  }
  const absl::StatusOr<const cli::Subcommand*> selected =
      cli::SelectSubcommand(commands, parsed.positional);
  const cli::Subcommand* command = selected.ok() ? *selected : nullptr;
  const absl::Status usage =
      !env.ok() ? env : !parsed.status.ok() ? parsed.status : selected.status();
  if (!usage.ok()) return Exit(command, usage);
  context = cli::ResolveContext(
      {.store = absl::GetFlag(FLAGS_store), .hunt_id = absl::GetFlag(FLAGS_hunt_id)},
      cli::ProcessFacts::Current(), launcher);
  return Exit(command, command->run({.args = {parsed.positional.begin() + 1,
                                              parsed.positional.end()},
                                     .passthrough = split.passthrough}));
}
