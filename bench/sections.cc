#include "bench/sections.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "base/status_macros.h"
#include "bench/matrix.h"
#include "bench/ratios.h"

namespace flaky::bench {

namespace {

constexpr char kBestFallback[] = "chaos:100000,p=50,ms=5-20";
constexpr char kTrivial[] = "//bench:trivial_test";
// The tables below are function-local statics, never destroyed: no
// globals with constructors.
const std::vector<std::string>& Originals() {
  static const auto* targets = new std::vector<std::string>{
      "//tests/race:already_running_original",
      "//tests/race:still_running_original"};
  return *targets;
}

const std::vector<std::string>& Fixed() {
  static const auto* targets = new std::vector<std::string>{
      "//tests/race:already_running_fixed", "//tests/race:still_running_fixed"};
  return *targets;
}

using Pairs = std::vector<std::pair<std::string, std::string>>;

// The detection profiles: family and profile, @SEED@ replaced per hunt so
// the hunts are independent (rep R uses SEED R*100000).
const Pairs& DetectionProfiles() {
  static const auto* profiles = new Pairs{
      {"none", "none"},
      {"taskset", "taskset:0"},
      {"cgroup50", "cgroup:50"},
      {"cgroup20", "cgroup:20"},
      {"hogs", "hogs:2"},
      {"chaos", "chaos:@SEED@,p=50,ms=5-20"},
      {"switch_interval", "env:SUBINTERP_SWITCH_INTERVAL_US=1"},
      {"chaos_pinned", "taskset:0+chaos:@SEED@,p=50,ms=5-20"},
      {"chaos_switch",
       "chaos:@SEED@,p=50,ms=5-20+env:SUBINTERP_SWITCH_INTERVAL_US=100"},
  };
  return *profiles;
}

// The matrix's columns (issue 14 item 4): profile families with their
// defaults.
const Pairs& MatrixColumns() {
  static const auto* columns = new Pairs{
      {"none", "none"}, {"chaos", "chaos:1"}, {"sched", "sched:1"}, {"auto", "auto"}};
  return *columns;
}

// Race targets of bench/foreign and their fixed twins ("" when Debian ships
// the race unfixed).
const Pairs& Foreign() {
  static const auto* pairs = new Pairs{
      {"//bench/foreign:cpython_already_running_original",
       "//bench/foreign:cpython_already_running_fixed"},
      {"//bench/foreign:cpython_still_running_original",
       "//bench/foreign:cpython_still_running_fixed"},
      {"//bench/foreign:cpython_idle_thread_reuse", ""},
      {"//bench/foreign:go_after_queuing_original",
       "//bench/foreign:go_after_queuing_fixed"},
  };
  return *pairs;
}

// Files the foreign targets run from (ci/bootstrap --foreign).
constexpr const char* kForeignFiles[] = {
    "/usr/lib/python3.11/test/test__xxsubinterpreters.py",
    "/usr/lib/go-1.19/bin/go"};

bool IsGo(absl::string_view target) {
  return absl::StrContains(target, ":go_");
}

std::string Seconds(absl::Duration d) {
  return absl::StrFormat("%.1f", absl::ToDoubleSeconds(d));
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::UnavailableError(absl::StrCat("cannot read ", path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Code(absl::string_view text) {
  return absl::StrCat("`", text, "`");
}

}  // namespace

std::vector<std::string> FlakyCommand(const std::string& flaky,
                                      absl::string_view command,
                                      const std::string& store,
                                      const std::string& hunt_id,
                                      const std::vector<std::string>& args) {
  std::vector<std::string> argv = {flaky, std::string(command),
                                   absl::StrCat("--store=", store),
                                   absl::StrCat("--hunt_id=", hunt_id)};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

absl::Status CheckFlakyExit(absl::string_view command, absl::string_view hunt_id,
                            const runner::ExitStatus& status,
                            absl::string_view log_path) {
  const bool result = command == "gate"
                          ? status.signal == 0 && status.code >= 0 && status.code <= 2
                          : status.Exited(0);
  if (result) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("flaky ", command, " ", hunt_id,
                                          " ended with ", status.ToString(),
                                          " (log: ", log_path, ")"));
}

std::optional<long> PeakResidentKiB(absl::string_view time_report) {
  for (absl::string_view line : absl::StrSplit(time_report, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (!absl::ConsumePrefix(&line, "Maximum resident set size (kbytes):")) continue;
    long kib = 0;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(line), &kib)) return kib;
  }
  return std::nullopt;
}

std::string FallbackProfile(absl::string_view target) {
  if (IsGo(target)) return "hogs:2";
  if (absl::StartsWith(target, "//bench/foreign:")) {
    return "chaos:5,p=20,ms=5-10,cap=30";
  }
  return "chaos:1";
}

std::string ShortName(absl::string_view label) {
  const size_t colon = label.rfind(':');
  return std::string(colon == absl::string_view::npos ? label
                                                      : label.substr(colon + 1));
}

Bench::Bench(Options options, Paths paths, Processes& processes,
             MachineInfo machine)
    : options_(std::move(options)),
      paths_(std::move(paths)),
      processes_(processes),
      machine_(std::move(machine)) {
  out_ = std::filesystem::absolute(options_.out).string();
  store_ = absl::StrCat(out_, "/bench.db");
  flaky_ = absl::StrCat(paths_.bazel_bin, "/flaky/flaky");
  started_ = absl::FormatTime("%Y-%m-%d %H:%M UTC", absl::Now(), absl::UTCTimeZone());
}

void Bench::Log(absl::string_view message) {
  std::cerr << "bench: " << message << std::endl;
}

std::string Bench::LogPath(absl::string_view name) const {
  return absl::StrCat(out_, "/logs/", name, ".log");
}

absl::Status Bench::Write() {
  std::string text = absl::StrCat("# ci/bench ", started_, "\n\n",
                                   RenderMachineTable(machine_), "\n");
  for (const std::string& section : sections_) absl::StrAppend(&text, section, "\n");
  const std::string path = absl::StrCat(out_, "/bench.md");
  const std::string temp = path + ".tmp";
  {
    std::ofstream file(temp);
    file << text;
    if (!file.flush()) {
      return absl::UnavailableError(absl::StrCat("cannot write ", temp));
    }
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot rename ", temp, " to ", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<Finished> Bench::Flaky(absl::string_view command,
                                      const std::string& hunt_id,
                                      const std::vector<std::string>& args,
                                      const std::vector<std::string>& prefix) {
  std::vector<std::string> argv = prefix;
  std::vector<std::string> flaky = FlakyCommand(flaky_, command, store_, hunt_id, args);
  argv.insert(argv.end(), flaky.begin(), flaky.end());
  const std::string log = LogPath(hunt_id);
  FLAKY_ASSIGN_OR_RETURN(Finished finished, processes_.RunLogged(argv, log));
  FLAKY_RETURN_IF_ERROR(CheckFlakyExit(command, hunt_id, finished.status, log));
  FLAKY_ASSIGN_OR_RETURN(BenchHunt hunt, FindHunt(hunt_id));
  const int64_t failures =
      std::count_if(hunt.trials.begin(), hunt.trials.end(),
                    [](const results::Trial& t) { return results::IsFailure(t.outcome); });
  Log(absl::StrCat(hunt_id, ": ", finished.status.ToString(), ", ", hunt.trials.size(),
                   " trials, ", failures, " failed, in ", Seconds(finished.wall), " s"));
  return finished;
}

absl::StatusOr<std::string> Bench::Bazel(const std::string& name,
                                         const std::vector<std::string>& args,
                                         absl::Duration* wall) {
  std::vector<std::string> argv = {paths_.bazel};
  argv.insert(argv.end(), args.begin(), args.end());
  const std::string out = absl::StrCat(out_, "/logs/", name, ".out");
  FLAKY_ASSIGN_OR_RETURN(Finished finished,
                         processes_.RunLogged(argv, out, LogPath(name)));
  if (!finished.status.Exited(0)) {
    return absl::InternalError(absl::StrCat("`bazel ", absl::StrJoin(args, " "),
                                            "` ended with ", finished.status.ToString(),
                                            " (log: ", LogPath(name), ")"));
  }
  Log(absl::StrCat(name, ": done in ", Seconds(finished.wall), " s"));
  if (wall != nullptr) *wall = finished.wall;
  return ReadFile(out);
}

absl::StatusOr<std::vector<BenchHunt>> Bench::Hunts() {
  return LoadBenchHunts(store_);
}

absl::StatusOr<BenchHunt> Bench::FindHunt(const std::string& hunt_id) {
  FLAKY_ASSIGN_OR_RETURN(std::vector<BenchHunt> hunts, LoadBenchHunts(store_, {hunt_id}));
  for (BenchHunt& hunt : hunts) {
    if (hunt.hunt.id == hunt_id) return std::move(hunt);
  }
  return absl::NotFoundError(absl::StrCat("no hunt ", hunt_id, " in ", store_));
}

absl::StatusOr<std::string> Bench::Best() {
  if (best_) return *best_;
  if (std::filesystem::exists(store_)) {
    FLAKY_ASSIGN_OR_RETURN(std::vector<BenchHunt> hunts, Hunts());
    absl::StatusOr<std::string> best = BestProfile(hunts, gate_, "none");
    if (best.ok()) {
      best_ = *best;
      return *best_;
    }
  }
  Log(absl::StrCat("no detection profile reached FLAKY in this run's store; using ",
                   kBestFallback));
  best_ = kBestFallback;
  return *best_;
}

absl::Status Bench::Run() {
  std::error_code error;
  // An earlier run's results are kept aside, never overwritten.
  if (std::filesystem::exists(out_)) {
    const std::string aside = absl::StrCat(
        out_, ".", absl::FormatTime("%Y%m%dT%H%M%S", absl::Now(), absl::UTCTimeZone()));
    std::filesystem::rename(out_, aside, error);
    if (error) {
      return absl::UnavailableError(absl::StrCat("cannot move ", out_, " to ", aside,
                                                 ": ", error.message()));
    }
    Log(absl::StrCat("the previous results are in ", aside));
  }
  std::filesystem::create_directories(absl::StrCat(out_, "/logs"), error);
  if (error) {
    return absl::UnavailableError(
        absl::StrCat("cannot create ", out_, "/logs: ", error.message()));
  }
  FLAKY_RETURN_IF_ERROR(Write());
  const std::vector<std::pair<Section, absl::Status (Bench::*)()>> sections = {
      {Section::kDetection, &Bench::Detection},
      {Section::kVerification, &Bench::Verification},
      {Section::kThroughput, &Bench::Throughput},
      {Section::kCosts, &Bench::Costs},
      {Section::kCalibration, &Bench::Calibration},
      {Section::kDirectDetection, &Bench::DirectDetection},
      {Section::kMatrix, &Bench::Matrix},
  };
  for (const auto& [section, run] : sections) {
    if (!options_.Runs(section)) {
      sections_.push_back(absl::StrCat("## ", SectionTitle(section),
                                       ": skipped (--skip=", SectionName(section),
                                       ")\n"));
      continue;
    }
    Log(absl::StrCat("section ", SectionName(section)));
    FLAKY_RETURN_IF_ERROR((this->*run)());
    FLAKY_RETURN_IF_ERROR(Write());
  }
  machine_.load_at_end = LoadAverage("/");
  FLAKY_RETURN_IF_ERROR(Write());
  Log(absl::StrCat("done: ", out_, "/bench.md"));
  return absl::OkStatus();
}

absl::Status Bench::Detection() {
  const Sizes& s = options_.sizes;
  for (const auto& [family, profile] : DetectionProfiles()) {
    for (int rep = 1; rep <= s.reps; ++rep) {
      std::vector<std::string> args = Originals();
      args.push_back(absl::StrCat(
          "--profiles=", absl::StrReplaceAll(profile, {{"@SEED@", absl::StrCat(rep * 100000)}})));
      args.push_back("--until_decided");
      args.push_back(absl::StrCat("--runs=", s.cap));
      args.push_back(absl::StrCat("--round_runs=", s.round_runs));
      FLAKY_RETURN_IF_ERROR(
          Flaky("hunt", absl::StrCat("detect.", family, ".", rep), args).status());
    }
  }
  FLAKY_ASSIGN_OR_RETURN(std::vector<BenchHunt> hunts, Hunts());
  FLAKY_ASSIGN_OR_RETURN(std::string table, DetectionTable(hunts, gate_, "none"));
  sections_.push_back(absl::StrCat(
      "## 1. Detection: the original tests, ", s.reps, " hunts per profile\n\n",
      "Each hunt: `flaky hunt ", absl::StrJoin(Originals(), " "),
      " --profiles=P --until_decided --runs=", s.cap, " --round_runs=", s.round_runs,
      "` (Bazel mode).\nSeconds count from the hunt's start (`bazel query`, the "
      "no-op build and each round's start included; Bazel's server warm); FLAKY "
      "is the gate's rule\n(anytime evidence that the rate is above 0.1% at 95%, "
      "stats/anytime.h) replayed after each finished run.\n\n",
      table));
  return absl::OkStatus();
}

absl::Status Bench::Verification() {
  const Sizes& s = options_.sizes;
  FLAKY_ASSIGN_OR_RETURN(std::string best, Best());
  // Bazel reruns: one fixed test, as a fix's merge request would verify it.
  const std::string time_report = absl::StrCat(out_, "/logs/verify.bazel.time");
  FLAKY_RETURN_IF_ERROR(
      Flaky("gate", "verify.bazel_runs.1",
            {Fixed()[0], absl::StrCat("--profiles=", best),
             absl::StrCat("--runs=", s.verify_runs)},
            {"/usr/bin/time", "-v", "-o", time_report})
          .status());
  verify_time_report_ = ReadFile(time_report).value_or("");
  // --local_test_jobs: the fixed tests mostly sleep (they poll is_running
  // every 10 ms), so more of them fit on the cores.
  std::vector<std::string> repeat_args = Fixed();
  repeat_args.insert(repeat_args.end(),
                     {absl::StrCat("--profiles=", best),
                      absl::StrCat("--runs=", s.repeat_runs),
                      absl::StrCat("--repeat=", s.repeat), "--", "--local_test_jobs=8"});
  FLAKY_RETURN_IF_ERROR(Flaky("hunt", "verify.repeat.1", repeat_args).status());
  // Direct mode: a fresh process per run, to CLEAN (issue 17: under 60 s).
  std::string direct_rows;
  for (const std::string& target : Fixed()) {
    const std::string id = absl::StrCat("verify.direct_", ShortName(target), ".1");
    FLAKY_ASSIGN_OR_RETURN(
        Finished gate,
        Flaky("gate", id,
              {target, "--mode=direct", absl::StrCat("--profiles=", best),
               "--until_decided", absl::StrCat("--runs=", s.direct_verify_runs)}));
    const char* verdict = gate.status.code == 0   ? "CLEAN"
                          : gate.status.code == 1 ? "FLAKY"
                                                  : "INCONCLUSIVE";
    absl::StrAppend(&direct_rows, "| ", ShortName(target), " | ", verdict, " (exit ",
                    gate.status.code, ") | ", Seconds(gate.wall), " | ",
                    gate.status.code == 0
                        ? (gate.wall < absl::Seconds(60) ? "yes" : "no")
                        : "n/a (not CLEAN)",
                    " |\n");
  }
  FLAKY_ASSIGN_OR_RETURN(std::vector<BenchHunt> hunts, Hunts());
  FLAKY_ASSIGN_OR_RETURN(std::string table, VerificationTable(hunts, gate_));
  sections_.push_back(absl::StrCat(
      "## 2. Verification: the fixed tests to CLEAN under ", Code(best), "\n\n",
      "Bazel reruns: `flaky gate ", Fixed()[0], " --profiles=", best, " --runs=",
      s.verify_runs, "`;\nin-process: `flaky hunt ", absl::StrJoin(Fixed(), " "),
      " --runs=", s.repeat_runs, " --repeat=", s.repeat,
      " -- --local_test_jobs=8`;\ndirect: `flaky gate TARGET --mode=direct "
      "--profiles=", best, " --until_decided --runs=", s.direct_verify_runs,
      "` (a fresh process per run).\n\n", table,
      "\nDirect-mode gates to CLEAN, wall time of the whole `flaky gate` "
      "(build check included; issue 17's target: under 60 s each):\n\n"
      "| target | gate verdict | wall s | CLEAN under 60 s? |\n|---|---|---:|---|\n",
      direct_rows));
  return absl::OkStatus();
}

absl::Status Bench::Throughput() {
  const Sizes& s = options_.sizes;
  const int cores = std::max(1u, std::thread::hardware_concurrency());
  std::vector<RateRow> rows;
  // Plain Bazel, the reference flaky's Bazel mode is held to.
  {
    absl::Duration wall;
    FLAKY_RETURN_IF_ERROR(Bazel("plain_bazel",
                                {"test", kTrivial,
                                 absl::StrCat("--runs_per_test=", s.throughput_runs),
                                 "--nocache_test_results", "--test_output=summary"},
                                &wall)
                              .status());
    rows.push_back({.name = "plain",
                    .how = absl::StrCat("plain `bazel test --runs_per_test=",
                                        s.throughput_runs, " --nocache_test_results`"),
                    .runs = s.throughput_runs,
                    .seconds = absl::ToDoubleSeconds(wall)});
  }
  FLAKY_ASSIGN_OR_RETURN(
      Finished bazel_hunt,
      Flaky("hunt", "throughput.bazel_runs.1",
            {kTrivial, "--profiles=none", absl::StrCat("--runs=", s.throughput_runs)}));
  rows.push_back({.name = "flaky_bazel",
                  .how = absl::StrCat("`flaky hunt --profiles=none --runs=",
                                      s.throughput_runs, "` (Bazel mode)"),
                  .runs = s.throughput_runs,
                  .seconds = absl::ToDoubleSeconds(bazel_hunt.wall),
                  .reference = "plain"});
  // The physical limit: the binary alone, one loop per core.
  const std::string trivial = absl::StrCat(paths_.bazel_bin, "/bench/trivial_test");
  FLAKY_ASSIGN_OR_RETURN(absl::Duration loop,
                         processes_.TightLoop(trivial, s.loop_runs, cores));
  Log(absl::StrCat("tight loop: ", s.loop_runs * cores, " runs in ", Seconds(loop), " s"));
  rows.push_back({.name = "loop",
                  .how = absl::StrCat("the binary in a tight loop (fork/exec per "
                                      "run), one loop per core (", cores, ")"),
                  .runs = static_cast<int64_t>(s.loop_runs) * cores,
                  .seconds = absl::ToDoubleSeconds(loop)});
  FLAKY_ASSIGN_OR_RETURN(
      Finished direct_hunt,
      Flaky("hunt", "throughput.direct.1",
            {kTrivial, "--mode=direct", "--profiles=none",
             absl::StrCat("--runs=", s.direct_throughput_runs)}));
  rows.push_back({.name = "flaky_direct",
                  .how = absl::StrCat("`flaky hunt --mode=direct --profiles=none --runs=",
                                      s.direct_throughput_runs, "`"),
                  .runs = s.direct_throughput_runs,
                  .seconds = absl::ToDoubleSeconds(direct_hunt.wall),
                  .reference = "loop"});
  // In-process repetition: trials, not processes.
  FLAKY_RETURN_IF_ERROR(Flaky("hunt", "throughput.repeat.1",
                              {kTrivial, "--profiles=none", "--runs=20", "--repeat=1000"})
                            .status());
  const int repeat = s.loop_runs * 100;
  FLAKY_ASSIGN_OR_RETURN(
      absl::Duration repeat_loop,
      processes_.TightLoop(trivial, 1, cores, {absl::StrCat("--gtest_repeat=", repeat)}));
  rows.push_back({.name = "gtest_repeat",
                  .how = absl::StrCat("the binary with --gtest_repeat=", repeat,
                                      ", one per core (runs here: trials)"),
                  .runs = static_cast<int64_t>(repeat) * cores,
                  .seconds = absl::ToDoubleSeconds(repeat_loop)});

  const std::vector<Goal> goals = {
      {.what = "`flaky hunt` (Bazel mode) runs/s vs plain `bazel test`",
       .target = 1.0,
       .measured = RateRatio(rows, "flaky_bazel")},
      {.what = "`flaky hunt --mode=direct` runs/s vs the tight loop",
       .target = 0.5,
       .measured = RateRatio(rows, "flaky_direct")},
  };
  FLAKY_ASSIGN_OR_RETURN(std::vector<BenchHunt> hunts, Hunts());
  FLAKY_ASSIGN_OR_RETURN(std::string store_table, ThroughputTable(hunts));
  sections_.push_back(absl::StrCat(
      "## 3. Throughput: `", kTrivial, "`, side by side\n\n"
      "Wall time of each whole command as bench timed it (flaky's `bazel "
      "query` and build check included, as plain Bazel's analysis is).\n\n",
      RenderRateTable(rows), "\nIssue 17's targets:\n\n", RenderGoalTable(goals),
      "\nThe same hunts as the store has them (trials/s over the whole hunt and "
      "while tests ran):\n\n",
      store_table));
  return absl::OkStatus();
}

absl::Status Bench::Costs() {
  const Sizes& s = options_.sizes;
  const std::string overhead_out = absl::StrCat(out_, "/logs/overhead.md");
  FLAKY_ASSIGN_OR_RETURN(
      Finished overhead,
      processes_.RunLogged({absl::StrCat(paths_.workspace, "/flaky/starve/measure_overhead.sh"),
                            absl::StrCat(paths_.bazel_bin, "/flaky/starve/starve"),
                            absl::StrCat(s.overhead_runs)},
                           overhead_out, LogPath("overhead")));
  if (!overhead.status.Exited(0)) {
    return absl::InternalError(absl::StrCat(
        "flaky/starve/measure_overhead.sh ended with ", overhead.status.ToString(),
        " (log: ", LogPath("overhead"), ")"));
  }
  FLAKY_ASSIGN_OR_RETURN(std::string overhead_table, ReadFile(overhead_out));
  FLAKY_ASSIGN_OR_RETURN(
      std::string store_bench,
      Bazel("store_benchmark", {"run", "-c", "opt", "//flaky/results:store_benchmark",
                                "--", "--benchmark_min_time=0.5"}));
  FLAKY_ASSIGN_OR_RETURN(
      std::string metrics_bench,
      Bazel("metrics_benchmark", {"run", "-c", "opt", "//flaky/metrics:metrics_benchmark",
                                  "--", "--benchmark_min_time=0.5"}));
  std::string memory;
  if (std::optional<long> kib = PeakResidentKiB(verify_time_report_)) {
    memory = absl::StrFormat(
        "Peak memory of `flaky gate` with %d Bazel runs (the flaky process; "
        "Bazel's server is a separate JVM): %.0f MiB resident",
        s.verify_runs, *kib / 1024.0);
    absl::StatusOr<std::string> pid = processes_.Output({paths_.bazel, "info", "server_pid"});
    if (pid.ok()) {
      absl::StatusOr<std::string> status = ReadFile(absl::StrCat("/proc/", *pid, "/status"));
      for (absl::string_view line : absl::StrSplit(status.value_or(""), '\n')) {
        long server_kib = 0;
        if (absl::ConsumePrefix(&line, "VmRSS:") &&
            absl::SimpleAtoi(absl::StripSuffix(absl::StripAsciiWhitespace(line), " kB"),
                             &server_kib)) {
          absl::StrAppend(&memory, absl::StrFormat("; Bazel server: %.0f MiB resident",
                                                   server_kib / 1024.0));
        }
      }
    }
    absl::StrAppend(&memory, ".\n");
  }
  sections_.push_back(absl::StrCat(
      "## 4. Costs\n\nStarve wrapper per run (`flaky/starve/measure_overhead.sh`, ",
      s.overhead_runs, " runs of `/bin/true`):\n\n", overhead_table,
      "\nStore and /metrics (`bazel run -c opt //flaky/results:store_benchmark`, "
      "`//flaky/metrics:metrics_benchmark`):\n\n```\n",
      absl::StripTrailingAsciiWhitespace(store_bench), "\n",
      absl::StripTrailingAsciiWhitespace(metrics_bench), "\n```\n\n", memory));
  return absl::OkStatus();
}

absl::Status Bench::Calibration() {
  const Sizes& s = options_.sizes;
  FLAKY_ASSIGN_OR_RETURN(
      std::string table,
      Bazel("calibration", {"run", "-c", "opt", "//flaky/stats:calibrate", "--",
                            absl::StrCat("--hunts=", s.calibration_hunts)}));
  sections_.push_back(absl::StrCat(
      "## 5. Calibration: the verdict rule judged after every run\n\n"
      "`bazel run -c opt //flaky/stats:calibrate -- --hunts=",
      s.calibration_hunts,
      "`: hunts of up to 20,000 runs whose runs fail independently at the true "
      "rate,\njudged after every run and stopped at the first verdict (M = 0.1%, "
      "95%). \"exact\" is a dynamic programme over (failures, runs);\n\"single "
      "look watched\" is the exact one-sided bound flaky used before, judged as "
      "often.\n\n",
      table));
  return absl::OkStatus();
}

absl::Status Bench::DirectDetection() {
  const Sizes& s = options_.sizes;
  FLAKY_ASSIGN_OR_RETURN(std::string best, Best());
  std::vector<std::pair<std::string, std::string>> hunts = {
      {"none", "none"}, {"best", best}};
  if (best != "chaos:1") hunts.push_back({"chaos1", "chaos:1"});
  for (const auto& [family, profile] : hunts) {
    std::vector<std::string> args = Originals();
    args.insert(args.end(), {"--mode=direct", absl::StrCat("--profiles=", profile)});
    if (family == "none") {
      args.push_back(absl::StrCat("--budget=", s.direct_none_seconds, "s"));
    } else {
      args.insert(args.end(),
                  {"--until_decided", absl::StrCat("--runs=", s.direct_best_runs)});
    }
    FLAKY_RETURN_IF_ERROR(Flaky("hunt", absl::StrCat("direct.", family, ".1"), args).status());
  }
  std::vector<Cell> cells;
  std::vector<Goal> goals;
  for (const std::string& target : Originals()) {
    std::optional<Cell> none;
    std::optional<Cell> fastest;
    for (const auto& [family, profile] : hunts) {
      FLAKY_ASSIGN_OR_RETURN(BenchHunt hunt, FindHunt(absl::StrCat("direct.", family, ".1")));
      FLAKY_ASSIGN_OR_RETURN(Cell cell, SummarizeHunt(hunt, target, gate_));
      cells.push_back(cell);
      if (family == "none") {
        none = cell;
      } else if (cell.seconds_to_flaky &&
                 (!fastest || *cell.seconds_to_flaky < *fastest->seconds_to_flaky)) {
        fastest = cell;
      }
    }
    Goal goal{.what = absl::StrCat(ShortName(target),
                                   ": time to FLAKY, `none` / the fastest profile"),
              .target = 100};
    if (none && fastest) goal = FlakyRatioGoal(goal.what, *none, *fastest, 100);
    goals.push_back(goal);
  }
  sections_.push_back(absl::StrCat(
      "## 6. Detection in direct mode: `none` against the best profiles\n\n"
      "Each hunt: `flaky hunt ", absl::StrJoin(Originals(), " "),
      " --mode=direct --profiles=P --until_decided --runs=", s.direct_best_runs,
      "`, and under `none` `--budget=", s.direct_none_seconds,
      "s` instead (until a verdict, `none` would stop at CLEAN, which a race "
      "too rare to show without starvation earns after 3332 clean runs); time "
      "to FLAKY replayed from the hunt's start; a hunt that never reached it "
      "gives the bound \"not FLAKY within N runs / S s\", and the ratio is then "
      "at least that bound over the best's time.\n\n",
      RenderMatrix(cells, gate_.confidence), "\nIssue 17's target:\n\n",
      RenderGoalTable(goals)));
  return absl::OkStatus();
}

absl::Status Bench::Matrix() {
  const Sizes& s = options_.sizes;
  Pairs pairs = {{Originals()[0], Fixed()[0]}, {Originals()[1], Fixed()[1]}};
  std::string foreign_note;
  if (options_.skip_foreign) {
    foreign_note = "bench/foreign's targets skipped (--skip=foreign).\n\n";
  } else {
    std::vector<std::string> missing;
    for (const char* file : kForeignFiles) {
      if (!std::filesystem::exists(file)) missing.push_back(file);
    }
    if (missing.empty()) {
      pairs.insert(pairs.end(), Foreign().begin(), Foreign().end());
    } else {
      foreign_note = absl::StrCat("bench/foreign's targets skipped: ",
                                  absl::StrJoin(missing, ", "),
                                  " missing (run `ci/bootstrap --foreign`).\n\n");
    }
  }
  // One hunt per column and target, as a user would hunt one flaky test:
  // each cell's times are its own, and an `auto` arm that cannot be applied
  // to one target (chaos on a static Go binary) is not lost for the others.
  // chaos leaves out the static Go binaries (the shim cannot act in them and
  // the wrapper refuses it).
  auto hunt_id = [](absl::string_view column, absl::string_view target) {
    return absl::StrCat("matrix.", column, ".", ShortName(target));
  };
  std::vector<Cell> cells;
  std::vector<Cell> fixed_cells;
  for (const auto& [original, fixed] : pairs) {
    const size_t first = cells.size();
    for (const auto& [column, profile] : MatrixColumns()) {
      if (absl::StartsWith(profile, "chaos") && IsGo(original)) continue;
      std::vector<std::string> args = {original, "--mode=direct",
                                       absl::StrCat("--profiles=", profile)};
      if (profile == "none") {
        // The budget auto is given, not a verdict: none would stop at its
        // CLEAN, or at --runs long before the budget on a fast test.
        args.push_back(absl::StrCat("--budget=", s.matrix_none_seconds, "s"));
      } else {
        args.insert(args.end(),
                    {"--until_decided", absl::StrCat("--runs=", s.matrix_runs)});
      }
      FLAKY_RETURN_IF_ERROR(Flaky("hunt", hunt_id(column, original), args).status());
      FLAKY_ASSIGN_OR_RETURN(BenchHunt hunt, FindHunt(hunt_id(column, original)));
      FLAKY_ASSIGN_OR_RETURN(Cell cell, SummarizeHunt(hunt, original, gate_));
      cells.push_back(cell);
    }
    const Cell* most_failing = nullptr;
    for (size_t i = first; i < cells.size(); ++i) {
      const Cell& cell = cells[i];
      if (cell.most_failing_profile.empty()) continue;
      if (most_failing == nullptr ||
          static_cast<double>(cell.failed_runs) / cell.runs >
              static_cast<double>(most_failing->failed_runs) / most_failing->runs) {
        most_failing = &cell;
      }
    }
    if (fixed.empty()) continue;
    const std::string profile =
        most_failing ? most_failing->most_failing_profile : FallbackProfile(original);
    const std::string id = absl::StrCat("matrix.fixed.", ShortName(fixed));
    FLAKY_RETURN_IF_ERROR(Flaky("hunt", id,
                                {fixed, "--mode=direct", absl::StrCat("--profiles=", profile),
                                 absl::StrCat("--runs=", s.fixed_runs)})
                              .status());
    FLAKY_ASSIGN_OR_RETURN(BenchHunt hunt, FindHunt(id));
    FLAKY_ASSIGN_OR_RETURN(Cell cell, SummarizeHunt(hunt, fixed, gate_));
    fixed_cells.push_back(cell);
  }
  std::vector<Cell> all = cells;
  all.insert(all.end(), fixed_cells.begin(), fixed_cells.end());
  sections_.push_back(absl::StrCat(
      "## 7. Foreign and model races x profiles\n\n", foreign_note,
      "One hunt per cell: `flaky hunt TARGET "
      "--mode=direct --profiles=P --until_decided --runs=", s.matrix_runs,
      "` with P = `chaos:1`, `sched:1` (their defaults) and `auto` (the "
      "search: each arm judged on its own runs), and under `none` `--budget=",
      s.matrix_none_seconds, "s` instead (the time `auto` is given to reach "
      "FLAKY); time to FLAKY counts from the hunt's start. `chaos` leaves out "
      "the static Go binaries (the shim cannot act in them). A run fails when "
      "any of its test "
      "cases fails; s/run is the mean of each run's test time, wrapper "
      "included; x none is its ratio to the target's `none` (a fixed twin's: "
      "its original's).\n\n",
      RenderMatrix(all, gate_.confidence),
      "\nFixed twins, each under the profile that failed its original most "
      "often here (else the one meant for its race), issue 14's bar:\n\n",
      RenderFixed(fixed_cells, 300)));
  return absl::OkStatus();
}

}  // namespace flaky::bench
