// flaky: finds, measures and verifies flaky Bazel tests by starving them of
// CPU. Subcommands are rows of kCommands; this file owns the flags (each
// with a FLAKY_<FLAG> environment twin), fills the options structs, and
// turns a Status into a one-line message and an exit code.
//
//   bazel run //flaky -- hunt //tests/race:already_running_original
//       --profiles=none,cgroup:20,hogs:2 --runs=500
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "flaky/cli/hunt_summary.h"
#include "flaky/report/commands.h"
#include "flaky/report/report.h"
#include "flaky/cli/stop_signals.h"
#include "flaky/cli/subcommands.h"
#include "flaky/runner/clock.h"
#include "flaky/runner/hunt.h"
#include "flaky/runner/launcher.h"
#include "flaky/stats/sprt.h"

ABSL_FLAG(std::vector<std::string>, profiles, {"none"},
          "comma-separated starvation profiles to hunt under, one Bazel "
          "invocation each: none, taskset:CPUS, cgroup:PCT[/PERIOD_US], "
          "hogs:N, chaos:SEED, env:K=V; compose with '+', e.g. "
          "taskset:0+hogs:2");
ABSL_FLAG(int, runs, 100,
          "runs per profile (--runs_per_test); with --until_decided the most "
          "runs per profile; ignored with --budget");
ABSL_FLAG(absl::Duration, budget, absl::ZeroDuration(),
          "hunt for about this long instead of a fixed number of runs "
          "(e.g. 60s, 10m), in rounds sized from the measured run time");
ABSL_FLAG(bool, until_decided, false,
          "run in rounds until Wald's SPRT decides every case's verdict "
          "(rate <= --sprt_p0 or >= --sprt_p1) or --runs is reached");
ABSL_FLAG(double, sprt_p0, 0.001, "--until_decided: the 'clean' flake rate");
ABSL_FLAG(double, sprt_p1, 0.01, "--until_decided: the 'flaky' flake rate");
ABSL_FLAG(int, round_runs, 0,
          "runs per Bazel invocation (round); 0 picks: all of --runs at "
          "once, 10 then measured for --budget, 50 for --until_decided");
ABSL_FLAG(int, repeat, 1,
          "in-process repetitions per run (--gtest_repeat): one Bazel run "
          "yields this many trials per case; the tests then share process "
          "state, and the report says which mode was used");
ABSL_FLAG(std::string, store, "",
          "the SQLite trials database; default flaky.db in the workspace");
ABSL_FLAG(std::string, bazel, "bazel", "the Bazel to run (name on PATH or path)");
ABSL_FLAG(std::string, bazel_startup_flags, "",
          "space-separated Bazel startup flags, e.g. "
          "--output_base=/tmp/ob");
ABSL_FLAG(std::string, starve_wrapper, "auto",
          "label of the starve wrapper passed to --run_under; 'auto' finds "
          "it (//flaky/starve:starve in flaky's own workspace, "
          "@flaky//flaky/starve:starve where flaky is an external "
          "repository); '' runs without it (only --profiles=none)");
ABSL_FLAG(bool, allow_fallback, false,
          "let the wrapper skip profile parts the machine cannot apply "
          "(recorded per run) instead of failing the hunt");
ABSL_FLAG(std::string, hunt_id, "",
          "name of the hunt in the store; default: start time and pid");
ABSL_FLAG(std::vector<std::string>, fixes, {},
          "fix verifications for the final report: comma-separated "
          "ORIGINAL=FIXED target pairs, compared under every profile, e.g. "
          "//tests/race:already_running_original=//tests/race:"
          "already_running_fixed");
ABSL_FLAG(std::string, report_dir, "",
          "also write the report (report.md, .svg, .json, .junit.xml) here");
ABSL_FLAG(double, max_rate, 0.001,
          "the report's verdicts: the flake rate a test must be below, at "
          "--confidence, to be CLEAN");
ABSL_FLAG(double, confidence, 0.95, "the report's confidence level");
ABSL_FLAG(absl::Duration, stop_grace, absl::Seconds(30),
          "on Ctrl-C/SIGTERM, how long Bazel may take to stop before it "
          "is killed");

namespace {

// FLAKY_REPOSITORY is the repository this binary was built in ("@" for
// the main one), from the BUILD file, so `auto` can try the label under
// which the hunted workspace most likely sees the wrapper first.
#ifndef FLAKY_REPOSITORY
#define FLAKY_REPOSITORY "@"
#endif

std::string CurrentDirectory() {
  char buffer[PATH_MAX];
  return getcwd(buffer, sizeof(buffer)) == nullptr ? "" : buffer;
}

bool HasWorkspaceFile(const std::string& dir) {
  return access((dir + "/WORKSPACE").c_str(), F_OK) == 0 ||
         access((dir + "/WORKSPACE.bazel").c_str(), F_OK) == 0;
}

// FindWorkspace: under `bazel run` Bazel says where the workspace is;
// otherwise the nearest directory with a WORKSPACE file, like bazel itself.
std::string FindWorkspace() {
  if (const char* dir = std::getenv("BUILD_WORKSPACE_DIRECTORY")) return dir;
  std::string dir = CurrentDirectory();
  while (!dir.empty()) {
    if (HasWorkspaceFile(dir)) return dir;
    if (dir == "/") break;
    const size_t slash = dir.rfind('/');
    dir = slash == 0 ? "/" : dir.substr(0, slash);
  }
  return "";
}

// UserDirectory is where relative paths given by the user are resolved:
// `bazel run` starts us in the runfiles tree, not where the user typed.
std::string UserDirectory() {
  if (const char* dir = std::getenv("BUILD_WORKING_DIRECTORY")) return dir;
  return CurrentDirectory();
}

std::string Hostname() {
  char buffer[256] = {};
  if (gethostname(buffer, sizeof(buffer) - 1) != 0) return "";
  return buffer;
}

std::vector<std::string> WrapperCandidates() {
  const std::string repository = FLAKY_REPOSITORY;
  const std::string own = repository == "@" ? "" : repository;
  std::vector<std::string> candidates = {own + "//flaky/starve:starve"};
  const std::string other =
      own.empty() ? "@flaky//flaky/starve:starve" : "//flaky/starve:starve";
  candidates.push_back(other);
  return candidates;
}

absl::Status Hunt(const flaky::cli::Invocation& invocation,
                  const std::string& command_line) {
  namespace runner = flaky::runner;
  runner::HuntOptions options;
  options.targets = invocation.args;
  options.profiles.clear();
  for (const std::string& profile : absl::GetFlag(FLAGS_profiles)) {
    if (!profile.empty()) options.profiles.push_back(profile);
  }
  options.runs = absl::GetFlag(FLAGS_runs);
  options.budget = absl::GetFlag(FLAGS_budget);
  options.until_decided = absl::GetFlag(FLAGS_until_decided);
  options.round_runs = absl::GetFlag(FLAGS_round_runs);
  options.repeat = absl::GetFlag(FLAGS_repeat);
  options.bazel.bazel = absl::GetFlag(FLAGS_bazel);
  options.bazel.startup_flags = absl::StrSplit(
      absl::GetFlag(FLAGS_bazel_startup_flags), ' ', absl::SkipEmpty());
  options.bazel.extra_flags = invocation.passthrough;
  options.workspace = FindWorkspace();
  std::string store = absl::GetFlag(FLAGS_store);
  if (store.empty()) {
    store = options.workspace.empty() ? "flaky.db"
                                      : options.workspace + "/flaky.db";
  }
  if (!absl::StartsWith(store, "/")) store = UserDirectory() + "/" + store;
  options.store_path = store;
  const std::string wrapper = absl::GetFlag(FLAGS_starve_wrapper);
  if (wrapper == "auto") {
    options.wrapper_candidates = WrapperCandidates();
  } else {
    options.wrapper = wrapper;
  }
  options.allow_fallback = absl::GetFlag(FLAGS_allow_fallback);
  options.hunt_id = absl::GetFlag(FLAGS_hunt_id);
  if (options.hunt_id.empty()) {
    options.hunt_id = absl::StrCat(
        absl::FormatTime("%Y%m%d-%H%M%S", absl::Now(), absl::UTCTimeZone()),
        "-", getpid());
  }
  options.command_line = command_line;
  options.host = Hostname();
  options.stop_grace = absl::GetFlag(FLAGS_stop_grace);
  flaky::stats::SprtOptions sprt{.p0 = absl::GetFlag(FLAGS_sprt_p0),
                                 .p1 = absl::GetFlag(FLAGS_sprt_p1),
                                 .alpha = 0.05,
                                 .beta = 0.05};
  if (options.until_decided) {
    absl::Status valid = flaky::stats::ValidateSprtOptions(sprt);
    if (!valid.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad --sprt_p0/--sprt_p1: ", valid.message()));
    }
    options.decide = [sprt](const flaky::results::CaseSummary& summary) {
      absl::StatusOr<flaky::stats::SprtResult> result =
          flaky::stats::EvaluateSprt(sprt, summary.failures, summary.trials);
      return result.ok() &&
             result->decision != flaky::stats::SprtDecision::kContinue;
    };
  }

  std::atomic<bool> stop{false};
  if (absl::Status installed = flaky::cli::InstallStopSignals(&stop);
      !installed.ok()) {
    return installed;
  }
  runner::PosixLauncher launcher;
  runner::RealClock clock;
  absl::StatusOr<runner::HuntResult> result = runner::RunHunt(
      options, {.launcher = &launcher,
                .clock = &clock,
                .out = &std::cerr,
                .tty = isatty(STDERR_FILENO) == 1,
                .stop = &stop});
  if (!result.ok()) return result.status();
  // The report judges every case and, for --fixes, compares original and
  // fixed; the plain table stands in when there is nothing to judge.
  flaky::report::ReportRequest request;
  request.title = absl::StrCat("flaky hunt ", absl::StrJoin(result->targets, " "));
  request.summaries = result->summaries;
  request.metadata.mode = result->mode;
  request.metadata.commit = result->commit;
  request.metadata.host = options.host;
  request.metadata.date = absl::Now();
  request.metadata.gate.max_rate = absl::GetFlag(FLAGS_max_rate);
  request.metadata.gate.confidence = absl::GetFlag(FLAGS_confidence);
  for (const std::string& pair : absl::GetFlag(FLAGS_fixes)) {
    std::vector<std::string> sides = absl::StrSplit(pair, '=');
    if (sides.size() != 2 || sides[0].empty() || sides[1].empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--fixes entry '", pair, "' is not ORIGINAL=FIXED"));
    }
    for (const std::string& profile : options.profiles) {
      flaky::report::FixRequest fix;
      fix.baseline_target = sides[0];
      fix.candidate_target = sides[1];
      fix.profile = profile;
      request.fixes.push_back(fix);
    }
  }
  request.report_dir = absl::GetFlag(FLAGS_report_dir);
  if (!request.report_dir.empty() && !absl::StartsWith(request.report_dir, "/")) {
    request.report_dir = UserDirectory() + "/" + request.report_dir;
  }
  std::string summary = flaky::cli::FormatHuntSummary(*result);
  absl::StatusOr<flaky::report::ReportRun> report =
      result->summaries.empty() ? absl::FailedPreconditionError("no trials")
                                : flaky::report::RunReport(request);
  if (report.ok()) {
    // The hunt's own first line (counts, mode, store), then the report.
    std::cout << summary.substr(0, summary.find('\n') + 1) << report->terminal;
    if (report->files) {
      std::cout << "flaky: report written to " << report->files->markdown
                << "\n";
    }
  } else {
    std::cout << summary;
    if (!result->summaries.empty()) {
      std::cerr << "flaky hunt: no report: " << report.status().message()
                << "\n";
    }
  }
  std::cout << std::flush;
  if (result->status == "interrupted") {
    return absl::CancelledError(absl::StrCat(
        "interrupted: ", result->trials, " trials of ", result->runs,
        " completed runs are in ", result->store_path));
  }
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  std::string command_line;
  for (int i = 0; i < argc; ++i) {
    absl::StrAppend(&command_line, i == 0 ? "" : " ", argv[i]);
  }
  const std::vector<flaky::cli::Subcommand> commands = {
      {"hunt", "TARGETS... [--profiles=P,...] [--runs=N|--budget=D|--until_decided] [-- BAZEL_FLAGS]",
       "rerun test targets under starvation profiles and record every "
       "trial in the store",
       [&command_line](const flaky::cli::Invocation& invocation) {
         return Hunt(invocation, command_line);
       }},
  };
  absl::SetProgramUsageMessage(flaky::cli::UsageText("flaky", commands));

  flaky::cli::SplitArgs split = flaky::cli::SplitAtDoubleDash(argc, argv);
  // Every flag of this file has a twin, so a new flag cannot forget one.
  absl::Status env = flaky::cli::ApplyEnvironmentTwins(
      flaky::cli::FlagsDefinedIn("flaky/flaky_main.cc"), std::getenv);
  if (!env.ok()) {
    std::cerr << "flaky: " << env.message() << "\n";
    return 2;
  }
  std::vector<char*> positional = absl::ParseCommandLine(
      static_cast<int>(split.flags.size()), split.flags.data());
  if (positional.size() < 2) {
    std::cerr << "flaky: no command given: try `flaky hunt //your:test` or "
                 "`flaky --help`\n";
    return 2;
  }
  const flaky::cli::Subcommand* command =
      flaky::cli::FindSubcommand(commands, positional[1]);
  if (command == nullptr) {
    std::vector<std::string> names;
    for (const flaky::cli::Subcommand& row : commands) names.push_back(row.name);
    std::cerr << "flaky: unknown command '" << positional[1]
              << "': the commands are " << absl::StrJoin(names, ", ") << "\n";
    return 2;
  }
  flaky::cli::Invocation invocation;
  for (size_t i = 2; i < positional.size(); ++i) {
    invocation.args.push_back(positional[i]);
  }
  invocation.passthrough = split.passthrough;
  absl::Status status = command->run(invocation);
  if (status.ok()) return 0;
  std::cerr << "flaky " << command->name << ": " << status.message() << "\n";
  if (absl::IsCancelled(status)) return 130;
  if (absl::IsInvalidArgument(status)) return 2;
  return 1;
}
