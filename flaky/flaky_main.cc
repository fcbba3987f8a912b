// flaky: finds, measures and verifies flaky Bazel tests by starving them of
// CPU. Subcommands are rows of kCommands; this file owns the flags (each
// with a FLAKY_<FLAG> environment twin), fills the options structs, and
// turns a Status into a one-line message and an exit code.
//
//   bazel run //flaky -- hunt //tests/race:already_running_original
//       --profiles=none,cgroup:20,hogs:2 --runs=500
#include <unistd.h>

#include <atomic>
#include <memory>
#include <optional>
#include <thread>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <limits>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <algorithm>
#include <chrono>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "flaky/base/status_macros.h"
#include "flaky/cli/hunt_summary.h"
#include "flaky/metrics/assess.h"
#include "flaky/metrics/exporter.h"
#include "flaky/results/store.h"
#include "flaky/starve/profile.h"
#include "flaky/stats/gate.h"
#include "flaky/stats/plan.h"
#include "flaky/report/commands.h"
#include "flaky/report/report.h"
#include "flaky/cli/flags.h"
#include "flaky/cli/stop_signals.h"
#include "flaky/cli/subcommands.h"
#include "flaky/runner/arm_search.h"
#include "flaky/runner/clock.h"
#include "flaky/runner/hunt.h"
#include "flaky/runner/launcher.h"
#include "flaky/stats/anytime.h"

ABSL_FLAG(std::vector<std::string>, profiles, {"none"},
          "comma-separated starvation profiles to hunt under, one Bazel "
          "invocation each: none, taskset:CPUS, cgroup:PCT[/PERIOD_US], "
          "hogs:N, chaos:SEED, env:K=V; compose with '+', e.g. "
          "taskset:0+hogs:2. 'auto' alone searches a family of profiles "
          "for the one that exposes failures fastest");
ABSL_FLAG(int, runs, 0,
          "runs per profile (--runs_per_test); with --until_decided the most "
          "runs per profile; ignored with --budget. 0: 100, or with "
          "--until_decided enough runs for CLEAN without a failure (3332 at "
          "--max_rate=0.001 --confidence=0.95, divided by --repeat)");
ABSL_FLAG(absl::Duration, budget, absl::ZeroDuration(),
          "hunt for about this long instead of a fixed number of runs "
          "(e.g. 60s, 10m), in rounds sized from the measured run time");
ABSL_FLAG(bool, until_decided, false,
          "run in rounds until every target has its verdict (FLAKY or "
          "CLEAN at --max_rate and --confidence, the same rule as the "
          "report's, valid however often it is checked) or --runs is "
          "reached");
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
ABSL_FLAG(std::string, metrics_address, "",
          "hunt: serve live metrics at HOST:PORT while it runs (\"\" = off); "
          "serve: the address of /metrics (default 127.0.0.1:9477; "
          "0.0.0.0 only if you mean it)");
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
          "plan: print the verdict rule's boundaries instead, one row per "
          "run count up to --up_to: runs, the fewest failures that make "
          "FLAKY, the most that keep CLEAN (-1: impossible at that count)");
ABSL_FLAG(int64_t, up_to, 10000, "plan --boundaries: the last run count");
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

// GateOptionsFromFlags: the verdict rule of reports and gates.
flaky::stats::GateOptions GateOptionsFromFlags() {
  flaky::stats::GateOptions gate;
  gate.max_rate = absl::GetFlag(FLAGS_max_rate);
  gate.confidence = absl::GetFlag(FLAGS_confidence);
  return gate;
}

// HuntOptionsFromFlags fills the runner's options from the flags; `targets`
// are the tests to hunt.
flaky::runner::HuntOptions HuntOptionsFromFlags(
    const std::vector<std::string>& targets,
    const flaky::cli::Invocation& invocation, const std::string& command_line) {
  namespace runner = flaky::runner;
  runner::HuntOptions options;
  options.targets = targets;
  // absl cut the list at every comma; profiles have commas of their own.
  options.profiles = flaky::starve::SplitProfileList(
      absl::StrJoin(absl::GetFlag(FLAGS_profiles), ","));
  if (options.profiles ==
      std::vector<std::string>{flaky::runner::kAutoProfile}) {
    options.profiles = flaky::runner::AutoArms(/*seed=*/1);
    options.auto_search = true;
  }
  options.runs = absl::GetFlag(FLAGS_runs);
  options.budget = absl::GetFlag(FLAGS_budget);
  options.until_decided = absl::GetFlag(FLAGS_until_decided);
  options.round_runs = absl::GetFlag(FLAGS_round_runs);
  options.repeat = absl::GetFlag(FLAGS_repeat);
  if (options.runs == 0) {
    // A hunt that stops on its verdict must be allowed the runs CLEAN
    // takes, or a clean test could only ever end INCONCLUSIVE.
    options.runs = 100;
    absl::StatusOr<int64_t> clean = flaky::stats::AnytimeRunsToClean(
        absl::GetFlag(FLAGS_max_rate), absl::GetFlag(FLAGS_confidence));
    if (options.until_decided && clean.ok() && options.repeat >= 1) {
      options.runs = static_cast<int>(std::min<int64_t>(
          std::numeric_limits<int>::max(),
          (*clean + options.repeat - 1) / options.repeat));
    }
  }
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
  if (options.until_decided) {
    // The report's rule, over the family the final report will judge.
    options.decide = [gate = GateOptionsFromFlags(),
                      profile_count = static_cast<int64_t>(options.profiles.size())](
                         const std::vector<flaky::results::CaseSummary>& rows,
                         const std::string& profile) -> absl::StatusOr<bool> {
      flaky::stats::GateOptions family = gate;
      family.flaky_family = flaky::stats::HuntFamilySize(rows, profile_count);
      return flaky::stats::ProfileSettled(rows, profile, family);
    };
  }
  return options;
}

// UserPath resolves a path the user typed against where they typed it.
std::string UserPath(const std::string& path) {
  if (path.empty() || absl::StartsWith(path, "/")) return path;
  return UserDirectory() + "/" + path;
}

// StoreSnapshot reads the store's summaries (of one hunt, or all when
// `hunt_id` is empty) and assesses them, for the metric outputs. It opens
// its own connection on first use: the store is one connection per thread,
// and the callers run this on a server or pusher thread. For a running
// hunt of `profile_count` profiles, FLAKY is corrected over the family the
// hunt will have in the end (stats::HuntFamilySize), as --until_decided
// and the final report are; 0 corrects over the rows there are.
flaky::metrics::SnapshotSource StoreSnapshot(const std::string& store_path,
                                             const std::string& hunt_id,
                                             int64_t profile_count) {
  auto store = std::make_shared<std::unique_ptr<flaky::results::Store>>();
  const flaky::stats::GateOptions base = GateOptionsFromFlags();
  return [store, store_path, hunt_id, base,
          profile_count]() -> absl::StatusOr<flaky::metrics::Snapshot> {
    if (*store == nullptr) {
      FLAKY_ASSIGN_OR_RETURN(*store, flaky::results::Store::Open(store_path));
    }
    flaky::results::Filter filter;
    if (!hunt_id.empty()) filter.hunt_ids = {hunt_id};
    flaky::metrics::Snapshot snapshot;
    FLAKY_ASSIGN_OR_RETURN(snapshot.summaries, (*store)->Summarize(filter));
    flaky::stats::GateOptions gate = base;
    if (profile_count > 0) {
      gate.flaky_family =
          flaky::stats::HuntFamilySize(snapshot.summaries, profile_count);
    }
    FLAKY_ASSIGN_OR_RETURN(snapshot.assessments,
                           flaky::metrics::Assess(snapshot.summaries, gate));
    return snapshot;
  };
}

// FixRequests turns --fixes ORIGINAL=FIXED pairs into one comparison per
// profile under which the fixed target has trials.
absl::StatusOr<std::vector<flaky::report::FixRequest>> FixRequests(
    const std::vector<std::string>& fixes,
    const std::vector<flaky::results::CaseSummary>& summaries) {
  std::vector<flaky::report::FixRequest> requests;
  for (const std::string& pair : fixes) {
    std::vector<std::string> sides = absl::StrSplit(pair, '=');
    if (sides.size() != 2 || sides[0].empty() || sides[1].empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--fixes entry '", pair, "' is not ORIGINAL=FIXED"));
    }
    std::vector<std::string> profiles;
    for (const flaky::results::CaseSummary& row : summaries) {
      if (row.target == sides[1] &&
          std::find(profiles.begin(), profiles.end(), row.profile) ==
              profiles.end()) {
        profiles.push_back(row.profile);
      }
    }
    for (const std::string& profile : profiles) {
      flaky::report::FixRequest fix;
      fix.baseline_target = sides[0];
      fix.candidate_target = sides[1];
      fix.profile = profile;
      requests.push_back(fix);
    }
  }
  return requests;
}

// HuntRun is a finished hunt and its report (when there was one to make).
struct HuntRun {
  flaky::runner::HuntResult result;
  size_t profile_count = 0;  // the profiles hunted (searched, with auto)
  absl::StatusOr<flaky::report::ReportRun> report =
      absl::FailedPreconditionError("no trials");
};

// HuntAndReport runs a hunt of `targets` with the metric outputs the flags
// ask for, then judges it and prints the report (the plain table when there
// is nothing to judge). `fixes` are ORIGINAL=FIXED pairs to verify.
absl::StatusOr<HuntRun> HuntAndReport(const std::vector<std::string>& targets,
                                      const std::vector<std::string>& fixes,
                                      const flaky::cli::Invocation& invocation,
                                      const std::string& command_line) {
  namespace runner = flaky::runner;
  runner::HuntOptions options =
      HuntOptionsFromFlags(targets, invocation, command_line);
  if (std::find(options.profiles.begin(), options.profiles.end(),
                runner::kAutoProfile) != options.profiles.end()) {
    return absl::InvalidArgumentError(
        "--profiles=auto searches its own profiles and stands alone: hunt "
        "other profiles (none, for a baseline) in another hunt");
  }
  if (absl::Status valid =
          flaky::stats::ValidateGateOptions(GateOptionsFromFlags());
      !valid.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad --max_rate/--confidence: ", valid.message()));
  }

  // Metric outputs start before the first run, so a bad address or URL
  // fails the hunt before it costs anything.
  std::unique_ptr<flaky::metrics::HuntExporter> exporter;
  flaky::metrics::ExportOptions exports;
  exports.listen_address = absl::GetFlag(FLAGS_metrics_address);
  exports.pushgateway_url = absl::GetFlag(FLAGS_pushgateway);
  exports.push_interval = absl::GetFlag(FLAGS_push_interval);
  exports.textfile_path = UserPath(absl::GetFlag(FLAGS_textfile));
  if (!exports.listen_address.empty() || !exports.pushgateway_url.empty() ||
      !exports.textfile_path.empty()) {
    exports.instance = options.host;
    // The pushes are grouped by commit, so it must be known before the
    // first one; the hunt finds the same with the same command.
    runner::PosixLauncher git;
    absl::StatusOr<runner::CommandResult> head = git.Run(
        {.argv = {"git", "rev-parse", "HEAD"}, .working_dir = options.workspace});
    if (head.ok() && head->status.Exited(0)) {
      exports.metrics.commit =
          std::string(absl::StripAsciiWhitespace(head->stdout_text));
    }
    exports.snapshot = StoreSnapshot(options.store_path, options.hunt_id,
                                     static_cast<int64_t>(options.profiles.size()));
    FLAKY_ASSIGN_OR_RETURN(exporter,
                           flaky::metrics::HuntExporter::Start(exports));
    if (exporter->endpoint() != nullptr) {
      std::cerr << "flaky: live metrics at " << exporter->endpoint()->url()
                << "\n";
    }
  }

  std::atomic<bool> stop{false};
  FLAKY_RETURN_IF_ERROR(flaky::cli::InstallStopSignals(&stop));
  runner::PosixLauncher launcher;
  runner::RealClock clock;
  HuntRun run;
  run.profile_count = options.profiles.size();
  FLAKY_ASSIGN_OR_RETURN(
      run.result, runner::RunHunt(options, {.launcher = &launcher,
                                            .clock = &clock,
                                            .out = &std::cerr,
                                            .tty = isatty(STDERR_FILENO) == 1,
                                            .stop = &stop}));
  const runner::HuntResult& result = run.result;
  if (exporter != nullptr) {
    // The snapshot source refreshes from the store; a failed push or
    // textfile is reported but does not discard the hunt.
    if (absl::Status finished = exporter->Finish({}, {}); !finished.ok()) {
      std::cerr << "flaky: metrics: " << finished.message() << "\n";
    }
  }

  // The report judges every case and, for --fixes, compares original and
  // fixed; the plain table stands in when there is nothing to judge.
  flaky::report::ReportRequest request;
  request.title = absl::StrCat("flaky hunt ", absl::StrJoin(result.targets, " "));
  request.summaries = result.summaries;
  request.metadata.mode = result.mode;
  request.metadata.commit = result.commit;
  request.metadata.host = options.host;
  request.metadata.date = absl::Now();
  request.metadata.gate = GateOptionsFromFlags();
  // The family --until_decided judged by, so its verdicts and the
  // report's agree.
  request.metadata.gate.flaky_family = flaky::stats::HuntFamilySize(
      result.summaries, static_cast<int64_t>(options.profiles.size()));
  FLAKY_ASSIGN_OR_RETURN(request.fixes, FixRequests(fixes, result.summaries));
  request.report_dir = UserPath(absl::GetFlag(FLAGS_report_dir));
  std::string summary = flaky::cli::FormatHuntSummary(result);
  if (!result.auto_summary.empty()) std::cout << result.auto_summary;
  if (!result.summaries.empty()) run.report = flaky::report::RunReport(request);
  if (run.report.ok()) {
    // The hunt's own first line (counts, mode, store), then the report.
    std::cout << summary.substr(0, summary.find('\n') + 1)
              << run.report->terminal;
    if (run.report->files) {
      std::cout << "flaky: report written to " << run.report->files->markdown
                << "\n";
    }
  } else {
    std::cout << summary;
    if (!result.summaries.empty()) {
      std::cerr << "flaky hunt: no report: " << run.report.status().message()
                << "\n";
    }
  }
  std::cout << std::flush;
  if (result.status == "interrupted") {
    return absl::CancelledError(absl::StrCat(
        "interrupted: ", result.trials, " trials of ", result.runs,
        " completed runs are in ", result.store_path));
  }
  return run;
}

absl::StatusOr<int> Hunt(const flaky::cli::Invocation& invocation,
                         const std::string& command_line) {
  FLAKY_ASSIGN_OR_RETURN(
      HuntRun run, HuntAndReport(invocation.args, absl::GetFlag(FLAGS_fixes),
                                 invocation, command_line));
  return 0;
}

// Gate: hunt, then exit with the verdict (0 clean, 1 flaky, 2 inconclusive).
absl::StatusOr<int> Gate(const flaky::cli::Invocation& invocation,
                         const std::string& command_line) {
  if (invocation.args.empty()) {
    return absl::InvalidArgumentError(
        "no targets: `flaky gate //pkg:test ... --max_rate=0.001`");
  }
  FLAKY_ASSIGN_OR_RETURN(
      HuntRun run, HuntAndReport(invocation.args, absl::GetFlag(FLAGS_fixes),
                                 invocation, command_line));
  if (!run.report.ok()) return run.report.status();
  return run.report->gate_exit_code;
}

// Verify: baseline and candidate hunted together, then Fisher's test per
// profile (0: the candidate is significantly better everywhere, 2: not yet).
absl::StatusOr<int> Verify(const flaky::cli::Invocation& invocation,
                           const std::string& command_line) {
  const std::string baseline = absl::GetFlag(FLAGS_baseline);
  const std::string candidate = absl::GetFlag(FLAGS_candidate);
  if (baseline.empty() || candidate.empty() || !invocation.args.empty()) {
    return absl::InvalidArgumentError(
        "usage: flaky verify --baseline=//pkg:original "
        "--candidate=//pkg:fixed [--profiles=...] [--runs=N]");
  }
  FLAKY_ASSIGN_OR_RETURN(
      HuntRun run,
      HuntAndReport({baseline, candidate},
                    {absl::StrCat(baseline, "=", candidate)}, invocation,
                    command_line));
  flaky::report::VerifyRequest request;
  request.baseline_target = baseline;
  request.candidate_target = candidate;
  request.alpha = 1.0 - absl::GetFlag(FLAGS_confidence);
  // The rule and family the printed report judged by, so both agree.
  request.gate = GateOptionsFromFlags();
  request.gate.flaky_family = flaky::stats::HuntFamilySize(
      run.result.summaries, static_cast<int64_t>(run.profile_count));
  FLAKY_ASSIGN_OR_RETURN(
      flaky::report::VerifyRun verify,
      flaky::report::RunVerify(run.result.summaries, request));
  std::cout << verify.text << std::flush;
  return verify.exit_code;
}

// Plan: how many runs a claim or a detection takes.
absl::StatusOr<int> Plan(const flaky::cli::Invocation& invocation) {
  if (!invocation.args.empty()) {
    return absl::InvalidArgumentError(
        "usage: flaky plan [--max_rate=0.001] [--confidence=0.95] "
        "[--allowed_failures=0] [--boundaries --up_to=10000]");
  }
  if (absl::GetFlag(FLAGS_boundaries)) {
    FLAKY_ASSIGN_OR_RETURN(
        std::vector<flaky::stats::Boundary> rows,
        flaky::stats::Boundaries({.max_rate = absl::GetFlag(FLAGS_max_rate),
                                  .confidence = absl::GetFlag(FLAGS_confidence)},
                                 absl::GetFlag(FLAGS_up_to)));
    std::cout << flaky::stats::FormatBoundaries(rows);
    std::cout << std::flush;
    return 0;
  }
  flaky::stats::PlanOptions options;
  options.rate = absl::GetFlag(FLAGS_max_rate);
  options.confidence = absl::GetFlag(FLAGS_confidence);
  options.allowed_failures = absl::GetFlag(FLAGS_allowed_failures);
  FLAKY_ASSIGN_OR_RETURN(flaky::stats::Plan plan,
                         flaky::stats::MakePlan(options));
  std::cout << flaky::stats::DescribePlan(plan) << std::flush;
  return 0;
}

std::string StorePathFromFlags() {
  const std::string store = absl::GetFlag(FLAGS_store);
  if (!store.empty()) return UserPath(store);
  const std::string workspace = FindWorkspace();
  return workspace.empty() ? UserPath("flaky.db") : workspace + "/flaky.db";
}

// Report: the report of stored trials, without running anything.
absl::StatusOr<int> Report(const flaky::cli::Invocation& invocation) {
  const std::string store_path = StorePathFromFlags();
  if (access(store_path.c_str(), F_OK) != 0) {
    return absl::NotFoundError(absl::StrCat(
        "no store at ", store_path, ": run `flaky hunt` first or pass --store"));
  }
  FLAKY_ASSIGN_OR_RETURN(std::unique_ptr<flaky::results::Store> store,
                         flaky::results::Store::Open(store_path));
  flaky::results::Filter filter;
  if (!absl::GetFlag(FLAGS_hunt_id).empty()) {
    filter.hunt_ids = {absl::GetFlag(FLAGS_hunt_id)};
  }
  filter.targets = invocation.args;
  flaky::report::ReportRequest request;
  FLAKY_ASSIGN_OR_RETURN(request.summaries, store->Summarize(filter));
  request.title = absl::StrCat("flaky report ", store_path);
  request.metadata.host = Hostname();
  request.metadata.date = absl::Now();
  request.metadata.gate = GateOptionsFromFlags();
  if (!request.summaries.empty()) request.metadata.mode = request.summaries[0].mode;
  FLAKY_ASSIGN_OR_RETURN(request.fixes,
                         FixRequests(absl::GetFlag(FLAGS_fixes), request.summaries));
  request.report_dir = UserPath(absl::GetFlag(FLAGS_report_dir));
  FLAKY_ASSIGN_OR_RETURN(flaky::report::ReportRun run,
                         flaky::report::RunReport(request));
  std::cout << run.terminal;
  if (run.files) {
    std::cout << "flaky: report written to " << run.files->markdown << "\n";
  }
  std::cout << std::flush;
  return 0;
}

// Serve: /metrics computed from the store at every scrape, until Ctrl-C.
absl::StatusOr<int> Serve(const flaky::cli::Invocation& invocation) {
  if (!invocation.args.empty()) {
    return absl::InvalidArgumentError(
        "usage: flaky serve [--store=flaky.db] [--metrics_address=HOST:PORT]");
  }
  const std::string store_path = StorePathFromFlags();
  if (access(store_path.c_str(), F_OK) != 0) {
    return absl::NotFoundError(absl::StrCat(
        "no store at ", store_path, ": run `flaky hunt` first or pass --store"));
  }
  std::string address = absl::GetFlag(FLAGS_metrics_address);
  if (address.empty()) address = std::string(flaky::metrics::kDefaultMetricsAddress);
  std::atomic<bool> stop{false};
  FLAKY_RETURN_IF_ERROR(flaky::cli::InstallStopSignals(&stop));
  FLAKY_ASSIGN_OR_RETURN(
      std::unique_ptr<flaky::metrics::StoreServer> server,
      flaky::metrics::StoreServer::Start(
          address, flaky::metrics::MetricsOptions{},
          StoreSnapshot(store_path, absl::GetFlag(FLAGS_hunt_id), 0)));
  std::cout << "flaky serve: metrics of " << store_path << " at "
            << server->url() << " (Ctrl-C stops)" << std::endl;
  while (!stop.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return 0;
}

// kExitInterrupted is the shell's code for a process ended by SIGINT: a
// hunt stopped by Ctrl-C or SIGTERM keeps its trials and exits with it.
constexpr int kExitInterrupted = 130;

// ExitCodeFor turns how `command` ended into the process's exit code, on
// every path of main: its own code (a verdict) when it succeeded, 130 when
// interrupted, its usage code for InvalidArgument (an unknown flag, a bad
// value or FLAKY_* twin, a bad argument or target) and its error code for
// the rest. Before a command is known (`command` is null) usage exits 2.
int ExitCodeFor(const flaky::cli::Subcommand* command,
                const absl::StatusOr<int>& result) {
  if (result.ok()) return *result;
  if (absl::IsCancelled(result.status())) return kExitInterrupted;
  if (command == nullptr) return 2;
  return absl::IsInvalidArgument(result.status()) ? command->usage_exit_code
                                                  : command->error_exit_code;
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
       },
       /*usage_exit_code=*/2, /*error_exit_code=*/1},
      {"gate", "TARGETS... [--max_rate=R --confidence=C] [hunt flags] [-- BAZEL_FLAGS]",
       "hunt, then exit 0 when every target is CLEAN, 1 when one is FLAKY, "
       "2 when undecided within the budget, 3 on usage or environment errors",
       [&command_line](const flaky::cli::Invocation& invocation) {
         return Gate(invocation, command_line);
       },
       flaky::stats::kGateExitUsage, flaky::stats::kGateExitUsage},
      {"verify", "--baseline=ORIGINAL --candidate=FIXED [hunt flags]",
       "hunt both in the same Bazel invocations; exit 0 when the baseline "
       "is FLAKY and the candidate CLEAN under every profile, 2 when not yet",
       [&command_line](const flaky::cli::Invocation& invocation) {
         return Verify(invocation, command_line);
       },
       flaky::stats::kGateExitUsage, flaky::stats::kGateExitUsage},
      {"plan", "[--max_rate=R] [--confidence=C] [--allowed_failures=K] [--boundaries --up_to=N]",
       "runs needed to claim a rate below R, and to see a failure at R; "
       "--boundaries prints the verdict rule as a table",
       [](const flaky::cli::Invocation& invocation) { return Plan(invocation); },
       2, 1},
      {"report", "[TARGETS...] [--store=PATH] [--hunt_id=ID] [--report_dir=DIR]",
       "the report of stored trials, without running anything",
       [](const flaky::cli::Invocation& invocation) { return Report(invocation); },
       2, 1},
      {"serve", "[--store=PATH] [--metrics_address=127.0.0.1:9477]",
       "serve the store's flake metrics to Prometheus at /metrics",
       [](const flaky::cli::Invocation& invocation) { return Serve(invocation); },
       2, 1},
  };
  const std::vector<std::string> known =
      flaky::cli::FlagsDefinedIn("flaky/flaky_main.cc");
  flaky::cli::SplitArgs split = flaky::cli::SplitAtDoubleDash(argc, argv);
  // Every flag of this file has a twin, so a new flag cannot forget one.
  const absl::Status env = flaky::cli::ApplyEnvironmentTwins(known, std::getenv);
  const flaky::cli::ParsedFlags parsed = flaky::cli::ParseFlags(split.ours, known);
  if (parsed.help) {
    std::cout << flaky::cli::UsageText("flaky", commands) << "\n\nFlags:\n"
              << flaky::cli::FlagsHelp(known) << std::flush;
    return 0;
  }
  const flaky::cli::Subcommand* command =
      parsed.positional.empty()
          ? nullptr
          : flaky::cli::FindSubcommand(commands, parsed.positional[0]);
  absl::Status usage = !env.ok() ? env : parsed.status;
  if (usage.ok() && parsed.positional.empty()) {
    usage = absl::InvalidArgumentError(
        "no command given: try `flaky hunt //your:test` or `flaky --help`");
  } else if (usage.ok() && command == nullptr) {
    std::vector<std::string> names;
    for (const flaky::cli::Subcommand& row : commands) names.push_back(row.name);
    usage = absl::InvalidArgumentError(
        absl::StrCat("unknown command '", parsed.positional[0],
                     "': the commands are ", absl::StrJoin(names, ", ")));
  }
  if (!usage.ok()) {
    std::cerr << "flaky" << (command == nullptr ? "" : " " + command->name)
              << ": " << usage.message() << "\n";
    return ExitCodeFor(command, usage);
  }
  flaky::cli::Invocation invocation;
  invocation.args.assign(parsed.positional.begin() + 1, parsed.positional.end());
  invocation.passthrough = split.passthrough;
  const absl::StatusOr<int> result = command->run(invocation);
  if (!result.ok()) {
    std::cerr << "flaky " << command->name << ": " << result.status().message()
              << "\n";
  }
  return ExitCodeFor(command, result);
}
