#include "flaky/cli/commands.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/status_macros.h"
#include "flaky/cli/hunt_summary.h"
#include "flaky/metrics/assess.h"
#include "flaky/metrics/exporter.h"
#include "flaky/metrics/exposer.h"
#include "flaky/report/commands.h"
#include "flaky/report/report.h"
#include "flaky/results/hunt_state.h"
#include "flaky/results/store.h"
#include "flaky/runner/arm_search.h"
#include "flaky/runner/hunt.h"
#include "flaky/runner/recovery.h"
#include "flaky/starve/profile.h"
#include "flaky/stats/anytime.h"
#include "flaky/stats/plan.h"

// FLAKY_REPOSITORY is the repository this library was built in ("@" for
// the main one), from the BUILD file, so `--starve_wrapper=auto` can try
// the label under which the hunted workspace most likely sees the wrapper
// first.
#ifndef FLAKY_REPOSITORY
#define FLAKY_REPOSITORY "@"
#endif

namespace flaky::cli {
namespace {

std::vector<std::string> WrapperCandidates() {
  const std::string repository = FLAKY_REPOSITORY;
  const std::string own = repository == "@" ? "" : repository;
  const std::string other =
      own.empty() ? "@flaky//flaky/starve:starve" : "//flaky/starve:starve";
  return {own + "//flaky/starve:starve", other};
}

absl::Status CheckIo(const Io& io) {
  if (io.out == nullptr || io.err == nullptr || io.launcher == nullptr ||
      io.clock == nullptr || io.stop == nullptr) {
    return absl::InternalError("a flaky command needs every part of its Io");
  }
  return absl::OkStatus();
}

absl::Status NeedStore(const Context& context) {
  if (access(context.store_path.c_str(), F_OK) != 0) {
    return absl::NotFoundError(absl::StrCat("no store at ", context.store_path,
                                            ": run `flaky hunt` first or pass --store"));
  }
  return absl::OkStatus();
}

// SettleAbandoned settles the hunts of this host whose process died
// (runner/recovery.h) before a report, so it shows the runs Bazel
// finished for them and no hunt stays `running` forever. They are looked
// for read-only first: a report writes to the store only when there is
// something to settle and the store may be written.
void SettleAbandoned(const Context& context, const Io& io) {
  const runner::SettleOptions options = runner::LocalSettleOptions(context.host, *io.clock);
  std::vector<std::string> ids;
  {
    absl::StatusOr<std::unique_ptr<results::Store>> reader =
        results::Store::Open(context.store_path, {.read_only = true});
    if (!reader.ok()) return;  // the report says why
    absl::StatusOr<std::vector<results::HuntRecord>> abandoned =
        runner::FindAbandonedHunts(**reader, options);
    if (!abandoned.ok()) return;
    for (const results::HuntRecord& hunt : *abandoned) ids.push_back(hunt.id);
  }
  if (ids.empty()) return;
  const std::string directory =
      context.store_path.substr(0, context.store_path.find_last_of('/') + 1);
  if (access(context.store_path.c_str(), W_OK) != 0 ||
      access(directory.empty() ? "." : directory.c_str(), W_OK) != 0) {
    *io.err << "flaky report: the process of hunt " << absl::StrJoin(ids, ", ")
            << " died; the store is read-only, so the runs Bazel finished after its "
               "last stored batch are not recovered\n";
    return;
  }
  absl::StatusOr<std::unique_ptr<results::Store>> writer = results::Store::Open(context.store_path);
  absl::StatusOr<std::vector<runner::SettledHunt>> settled =
      writer.ok() ? runner::SettleAbandonedHunts(**writer, options) : writer.status();
  if (!settled.ok()) {
    *io.err << "flaky report: warning: cannot settle the hunts whose process died: "
            << settled.status().message() << "\n";
    return;
  }
  for (const runner::SettledHunt& hunt : *settled) {
    *io.err << runner::DescribeSettled(hunt) << "\n";
  }
}

// RunnerOptions turns the command's options and the context into the
// runner's.
runner::HuntOptions RunnerOptions(const HuntCommandOptions& command,
                                  const Context& context) {
  runner::HuntOptions options;
  options.targets = command.targets;
  // The flag parser cut the list at every comma; profiles have commas of
  // their own.
  options.profiles = starve::SplitProfileList(absl::StrJoin(command.profiles, ","));
  if (options.profiles == std::vector<std::string>{runner::kAutoProfile}) {
    options.profiles = runner::AutoArms(/*seed=*/1);
    options.auto_search = true;
  }
  options.runs = command.runs;
  options.budget = command.budget;
  options.until_decided = command.until_decided;
  options.round_runs = command.round_runs;
  options.repeat = command.repeat;
  if (options.runs == 0) {
    // A hunt that stops on its verdict must be allowed the runs CLEAN
    // takes, or a clean test could only ever end INCONCLUSIVE.
    options.runs = 100;
    absl::StatusOr<int64_t> clean = stats::AnytimeRunsToClean(
        command.gate.max_rate, command.gate.confidence);
    if (options.until_decided && clean.ok() && options.repeat >= 1) {
      options.runs = static_cast<int>(std::min<int64_t>(
          std::numeric_limits<int>::max(),
          (*clean + options.repeat - 1) / options.repeat));
    }
  }
  options.bazel = command.bazel;
  options.workspace = context.workspace;
  options.store_path = context.store_path;
  if (command.starve_wrapper == "auto") {
    options.wrapper_candidates = WrapperCandidates();
  } else {
    options.wrapper = command.starve_wrapper;
  }
  options.allow_fallback = command.allow_fallback;
  options.hunt_id = context.hunt_id;
  options.command_line = command.command_line;
  options.host = context.host;
  options.commit = context.commit;
  options.stop_grace = command.stop_grace;
  options.max_log_bytes = command.max_log_bytes;
  options.direct = command.mode == "direct";
  options.jobs = command.jobs;
  if (options.until_decided) {
    // The report's rule, over the family the final report will judge.
    options.decide = [gate = command.gate,
                      profile_count = static_cast<int64_t>(options.profiles.size())](
                         const std::vector<results::CaseSummary>& rows,
                         const std::string& profile) -> absl::StatusOr<bool> {
      stats::GateOptions family = gate;
      family.flaky_family = stats::HuntFamilySize(rows, profile_count);
      return stats::ProfileSettled(rows, profile, family);
    };
  }
  return options;
}

// StoreSnapshot reads the store's summaries (of one hunt, or all when
// `hunt_id` is empty) and assesses them, for the metric outputs. It opens
// its own connection on first use: the store is one connection per thread,
// and the callers run this on a server or pusher thread. For a running
// hunt of `profile_count` profiles, FLAKY is corrected over the family the
// hunt will have in the end (stats::HuntFamilySize), as --until_decided
// and the final report are; 0 corrects over the rows there are.
metrics::SnapshotSource StoreSnapshot(const std::string& store_path,
                                      const std::string& hunt_id,
                                      const stats::GateOptions& base,
                                      int64_t profile_count) {
  auto store = std::make_shared<std::unique_ptr<results::Store>>();
  return [store, store_path, hunt_id, base,
          profile_count]() -> absl::StatusOr<metrics::Snapshot> {
    if (*store == nullptr) {
      // Read-only: serving metrics never writes, and a store the user may
      // only read can be served.
      FLAKY_ASSIGN_OR_RETURN(*store,
                             results::Store::Open(store_path, {.read_only = true}));
    }
    results::Filter filter;
    if (!hunt_id.empty()) filter.hunt_ids = {hunt_id};
    metrics::Snapshot snapshot;
    FLAKY_ASSIGN_OR_RETURN(snapshot.summaries, (*store)->Summarize(filter));
    stats::GateOptions gate = base;
    if (profile_count > 0) {
      gate.flaky_family = stats::HuntFamilySize(snapshot.summaries, profile_count);
    }
    FLAKY_ASSIGN_OR_RETURN(snapshot.assessments,
                           metrics::Assess(snapshot.summaries, gate));
    return snapshot;
  };
}

// FixRequests turns ORIGINAL=FIXED pairs into one comparison per profile
// under which the fixed target has trials.
absl::StatusOr<std::vector<report::FixRequest>> FixRequests(
    const std::vector<std::string>& fixes,
    const std::vector<results::CaseSummary>& summaries) {
  std::vector<report::FixRequest> requests;
  for (const std::string& pair : fixes) {
    std::vector<std::string> sides = absl::StrSplit(pair, '=');
    if (sides.size() != 2 || sides[0].empty() || sides[1].empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--fixes entry '", pair, "' is not ORIGINAL=FIXED"));
    }
    std::vector<std::string> profiles;
    for (const results::CaseSummary& row : summaries) {
      if (row.target == sides[1] &&
          std::find(profiles.begin(), profiles.end(), row.profile) ==
              profiles.end()) {
        profiles.push_back(row.profile);
      }
    }
    for (const std::string& profile : profiles) {
      report::FixRequest fix;
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
  runner::HuntResult result;
  // The rule the report judged by, with the hunt's final FLAKY family.
  stats::GateOptions gate;
  absl::StatusOr<report::ReportRun> report =
      absl::FailedPreconditionError("no trials");
};

// HuntAndReport runs a hunt with the metric outputs the options ask for,
// then judges it and prints the report (the plain table when there is
// nothing to judge).
absl::StatusOr<HuntRun> HuntAndReport(const HuntCommandOptions& command,
                                      const Context& context, const Io& io) {
  FLAKY_RETURN_IF_ERROR(CheckIo(io));
  const runner::HuntOptions options = RunnerOptions(command, context);
  if (std::find(options.profiles.begin(), options.profiles.end(),
                runner::kAutoProfile) != options.profiles.end()) {
    return absl::InvalidArgumentError(
        "--profiles=auto searches its own profiles and stands alone: hunt "
        "other profiles (none, for a baseline) in another hunt");
  }
  if (absl::Status valid = stats::ValidateGateOptions(command.gate); !valid.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad --max_rate/--confidence: ", valid.message()));
  }
  if (command.mode != "bazel" && command.mode != "direct") {
    return absl::InvalidArgumentError(
        absl::StrCat("--mode must be bazel or direct, got ", command.mode));
  }
  if (command.jobs < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--jobs must be 0 (one per CPU) or more, got ", command.jobs));
  }
  const int64_t profile_count = static_cast<int64_t>(options.profiles.size());

  // Metric outputs start before the first run, so a bad address or URL
  // fails the hunt before it costs anything.
  std::unique_ptr<metrics::HuntExporter> exporter;
  metrics::ExportOptions exports;
  exports.listen_address = command.metrics.listen_address;
  exports.pushgateway_url = command.metrics.pushgateway_url;
  exports.push_interval = command.metrics.push_interval;
  exports.textfile_path = context.UserPath(command.metrics.textfile);
  if (!exports.listen_address.empty() || !exports.pushgateway_url.empty() ||
      !exports.textfile_path.empty()) {
    exports.instance = context.host;
    // The pushes are grouped by commit, so it must be known before the
    // first one.
    if (!context.commit.empty()) exports.metrics.commit = context.commit;
    exports.snapshot = StoreSnapshot(context.store_path, context.hunt_id,
                                     command.gate, profile_count);
    FLAKY_ASSIGN_OR_RETURN(exporter, metrics::HuntExporter::Start(exports));
    if (exporter->endpoint() != nullptr) {
      *io.err << "flaky: live metrics at " << exporter->endpoint()->url() << "\n";
      if (!exporter->endpoint()->warning().empty()) {
        *io.err << exporter->endpoint()->warning() << "\n";
      }
    }
  }

  HuntRun run;
  runner::HuntEnvironment environment{.launcher = io.launcher,
                                      .clock = io.clock,
                                      .out = io.err,
                                      .tty = io.err_is_tty,
                                      .stop = io.stop,
                                      .hurry = io.hurry};
  // The exporter hears of every trial as its run is read: the trial and
  // duration metrics are live; the rates and verdicts refresh from the
  // store at every scrape and push.
  if (exporter != nullptr) environment.sinks.push_back(exporter.get());
  FLAKY_ASSIGN_OR_RETURN(run.result, runner::RunHunt(options, environment));
  const runner::HuntResult& result = run.result;
  if (exporter != nullptr) {
    // The final state is what the report judges; a failed push or
    // textfile is reported but does not discard the hunt.
    stats::GateOptions gate = command.gate;
    gate.flaky_family = stats::HuntFamilySize(result.summaries, profile_count);
    absl::StatusOr<metrics::Assessments> assessments =
        metrics::Assess(result.summaries, gate);
    absl::Status finished = assessments.status();
    if (assessments.ok()) finished = exporter->Finish(result.summaries, *assessments);
    if (!finished.ok()) *io.err << "flaky: metrics: " << finished.message() << "\n";
  }

  // The report judges every case and, for fixes, compares original and
  // fixed; the plain table stands in when there is nothing to judge.
  report::ReportRequest request;
  request.title = absl::StrCat("flaky hunt ", absl::StrJoin(result.targets, " "));
  request.summaries = result.summaries;
  request.metadata.mode = result.mode;
  request.metadata.commit = result.commit;
  request.metadata.host = context.host;
  request.metadata.date = io.clock->Now();
  request.metadata.gate = command.gate;
  // The family --until_decided judged by, so its verdicts and the
  // report's agree.
  request.metadata.gate.flaky_family =
      stats::HuntFamilySize(result.summaries, profile_count);
  run.gate = request.metadata.gate;
  FLAKY_ASSIGN_OR_RETURN(request.fixes, FixRequests(command.fixes, result.summaries));
  request.report_dir = context.UserPath(command.report_dir);
  const std::string summary = FormatHuntSummary(result);
  if (!result.auto_summary.empty()) *io.out << result.auto_summary;
  if (!result.summaries.empty()) run.report = report::RunReport(request);
  if (run.report.ok()) {
    // The hunt's own first line (counts, mode, store), then the report.
    *io.out << summary.substr(0, summary.find('\n') + 1) << run.report->terminal;
    if (run.report->files) {
      *io.out << "flaky: report written to " << run.report->files->markdown << "\n";
    }
  } else {
    *io.out << summary;
    if (!result.summaries.empty()) {
      *io.err << "flaky hunt: no report: " << run.report.status().message() << "\n";
    }
  }
  io.out->flush();
  if (result.status == results::HuntStatus::kInterrupted) {
    return absl::CancelledError(absl::StrCat(
        "interrupted: ", result.trials, " trials of ", result.runs,
        " completed runs are in ", result.store_path));
  }
  return run;
}

}  // namespace

absl::StatusOr<int> HuntCommand(const HuntCommandOptions& options,
                                const Context& context, const Io& io) {
  FLAKY_ASSIGN_OR_RETURN(HuntRun run, HuntAndReport(options, context, io));
  return 0;
}

absl::StatusOr<int> GateCommand(const HuntCommandOptions& options,
                                const Context& context, const Io& io) {
  if (options.targets.empty()) {
    return absl::InvalidArgumentError(
        "no targets: `flaky gate //pkg:test ... --max_rate=0.001`");
  }
  FLAKY_ASSIGN_OR_RETURN(HuntRun run, HuntAndReport(options, context, io));
  if (!run.report.ok()) return run.report.status();
  return run.report->gate_exit_code;
}

absl::StatusOr<int> VerifyCommand(const VerifyCommandOptions& options,
                                  const Context& context, const Io& io) {
  if (options.baseline.empty() || options.candidate.empty() ||
      !options.hunt.targets.empty()) {
    return absl::InvalidArgumentError(
        "usage: flaky verify --baseline=//pkg:original "
        "--candidate=//pkg:fixed [--profiles=...] [--runs=N]");
  }
  HuntCommandOptions hunt = options.hunt;
  hunt.targets = {options.baseline, options.candidate};
  hunt.fixes = {absl::StrCat(options.baseline, "=", options.candidate)};
  FLAKY_ASSIGN_OR_RETURN(HuntRun run, HuntAndReport(hunt, context, io));
  report::VerifyRequest request;
  request.baseline_target = options.baseline;
  request.candidate_target = options.candidate;
  request.alpha = 1.0 - hunt.gate.confidence;
  // The rule and family the printed report judged by, so both agree.
  request.gate = run.gate;
  FLAKY_ASSIGN_OR_RETURN(report::VerifyRun verify,
                         report::RunVerify(run.result.summaries, request));
  *io.out << verify.text << std::flush;
  return verify.exit_code;
}

absl::StatusOr<int> PlanCommand(const PlanCommandOptions& options,
                                const Context& /*context*/, const Io& io) {
  FLAKY_RETURN_IF_ERROR(CheckIo(io));
  if (!options.args.empty()) {
    return absl::InvalidArgumentError(
        "usage: flaky plan [--max_rate=0.001] [--confidence=0.95] "
        "[--allowed_failures=0] [--boundaries --up_to=10000]");
  }
  if (options.boundaries) {
    FLAKY_ASSIGN_OR_RETURN(
        std::vector<stats::Boundary> rows,
        stats::Boundaries({.max_rate = options.gate.max_rate,
                           .confidence = options.gate.confidence},
                          options.up_to));
    *io.out << stats::FormatBoundaries(rows) << std::flush;
    return 0;
  }
  stats::PlanOptions plan_options;
  plan_options.rate = options.gate.max_rate;
  plan_options.confidence = options.gate.confidence;
  plan_options.allowed_failures = options.allowed_failures;
  FLAKY_ASSIGN_OR_RETURN(stats::Plan plan, stats::MakePlan(plan_options));
  *io.out << stats::DescribePlan(plan) << std::flush;
  return 0;
}

absl::StatusOr<int> ReportCommand(const ReportCommandOptions& options,
                                  const Context& context, const Io& io) {
  FLAKY_RETURN_IF_ERROR(CheckIo(io));
  FLAKY_RETURN_IF_ERROR(NeedStore(context));
  SettleAbandoned(context, io);
  FLAKY_ASSIGN_OR_RETURN(std::unique_ptr<results::Store> store,
                         results::Store::Open(context.store_path, {.read_only = true}));
  results::Filter filter;
  if (context.hunt_id_given) filter.hunt_ids = {context.hunt_id};
  filter.targets = options.targets;
  report::ReportRequest request;
  FLAKY_ASSIGN_OR_RETURN(request.summaries, store->Summarize(filter));
  request.title = absl::StrCat("flaky report ", context.store_path);
  request.metadata.host = context.host;
  request.metadata.date = io.clock->Now();
  request.metadata.gate = options.gate;
  if (!request.summaries.empty()) {
    // Stores from before modes were recorded have none to show.
    absl::StatusOr<results::HuntMode> mode = results::ParseHuntMode(request.summaries[0].mode);
    if (mode.ok()) request.metadata.mode = *mode;
  }
  FLAKY_ASSIGN_OR_RETURN(request.fixes, FixRequests(options.fixes, request.summaries));
  request.report_dir = context.UserPath(options.report_dir);
  FLAKY_ASSIGN_OR_RETURN(report::ReportRun run, report::RunReport(request));
  *io.out << run.terminal;
  if (run.files) *io.out << "flaky: report written to " << run.files->markdown << "\n";
  io.out->flush();
  return 0;
}

absl::StatusOr<int> ServeCommand(const ServeCommandOptions& options,
                                 const Context& context, const Io& io) {
  FLAKY_RETURN_IF_ERROR(CheckIo(io));
  if (!options.args.empty()) {
    return absl::InvalidArgumentError(
        "usage: flaky serve [--store=flaky.db] [--metrics_address=HOST:PORT]");
  }
  FLAKY_RETURN_IF_ERROR(NeedStore(context));
  const std::string address = options.address.empty()
                                  ? std::string(metrics::kDefaultMetricsAddress)
                                  : options.address;
  FLAKY_ASSIGN_OR_RETURN(
      std::unique_ptr<metrics::StoreServer> server,
      metrics::StoreServer::Start(
          address, metrics::MetricsOptions{},
          StoreSnapshot(context.store_path,
                        context.hunt_id_given ? context.hunt_id : "", options.gate,
                        /*profile_count=*/0)));
  *io.out << "flaky serve: metrics of " << context.store_path << " at "
          << server->url() << " (Ctrl-C stops)" << std::endl;
  if (!server->warning().empty()) *io.err << server->warning() << std::endl;
  while (!io.stop->load()) io.clock->SleepFor(absl::Milliseconds(100));
  return 0;
}

}  // namespace flaky::cli
