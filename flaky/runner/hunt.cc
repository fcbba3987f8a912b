#include "flaky/runner/hunt.h"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cstdlib>
#include <atomic>
#include <cmath>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/status_macros.h"
#include "flaky/results/bep.h"
#include "flaky/results/store.h"
#include "flaky/results/trial.h"
#include "flaky/runner/arm_search.h"
#include "flaky/runner/direct.h"
#include "flaky/runner/hunt_cgroup.h"
#include "flaky/runner/progress.h"
#include "flaky/runner/recovery.h"
#include "flaky/runner/run_trials.h"
#include "flaky/runner/store_writer.h"
#include "flaky/starve/cgroup.h"
#include "flaky/starve/profile.h"

namespace flaky::runner {
namespace {

using results::BepEvents;
using results::BepTestResult;
using results::Trial;

bool IsFile(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

bool IsDirectory(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

absl::Status MakeDirectories(const std::string& path) {
  std::string prefix;
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') {
      prefix = path.substr(0, i);
      if (!IsDirectory(prefix) && mkdir(prefix.c_str(), 0755) != 0 &&
          errno != EEXIST) {
        return absl::UnavailableError(
            absl::StrCat("cannot create directory ", prefix, ": ",
                         std::strerror(errno)));
      }
    }
  }
  return absl::OkStatus();
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// BazelFailed says why a Bazel command (`what`: "bazel build") exited
// with `status`, from the first error in its log. Bazel's exit code 34
// (REMOTE_ERROR) means remote execution or the remote cache could not be
// used, most often an executor that is down or a wrong --remote_executor:
// Unavailable, worded for that.
absl::Status BazelFailed(absl::string_view what, const ExitStatus& status,
                         const std::string& log_path) {
  const std::string first_error = FirstBazelError(ReadText(log_path));
  if (status.Exited(34)) {
    return absl::UnavailableError(absl::StrCat(
        "remote execution failed (", what, ", Bazel exit code 34): ",
        first_error,
        ": is the remote executor running, and --remote_executor right? "
        "(full log: ", log_path, ")"));
  }
  return absl::FailedPreconditionError(
      absl::StrCat(what, " failed (", status.ToString(), "): ", first_error,
                   " (full log: ", log_path, ")"));
}

// DiskFull says that the disk is full when the file system holding `path`
// has less than a mebibyte left, nullopt otherwise.
std::optional<std::string> DiskFull(const std::string& path) {
  struct statvfs fs;
  if (statvfs(path.c_str(), &fs) != 0) return std::nullopt;
  const uint64_t free_bytes = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
  if (free_bytes >= (uint64_t{1} << 20)) return std::nullopt;
  return absl::StrCat("the disk is full: ", free_bytes, " bytes left on the file system of ",
                      path);
}

// RunsRemotely is true when `extra_flags` (flags after `--`) send the
// tests to a remote executor.
bool RunsRemotely(const std::vector<std::string>& extra_flags) {
  for (const std::string& flag : extra_flags) {
    if (absl::StartsWith(flag, "--config=remote") ||
        absl::StartsWith(flag, "--remote_executor")) {
      return true;
    }
  }
  return false;
}

// ProfileState is one profile's progress through the hunt.
struct ProfileState {
  std::string text;         // as given
  starve::Profile parsed;
  int64_t runs_done = 0;    // runs of all targets (BEP testResults)
  int64_t failed_runs = 0;
  // rounds_runs: --runs_per_test summed over completed rounds, i.e. runs of
  // each target, what --runs and the budget count.
  int64_t rounds_runs = 0;
  absl::Duration wall = absl::ZeroDuration();  // time its rounds took
  bool done = false;
  // Targets the profile cannot be applied to (an auto arm goes on with the
  // others): chaos on a statically linked test, say.
  std::vector<std::string> refused_targets = {};
};

// Rounds of an auto search before it has a winner: enough runs to rank a
// profile that fails one run in ten, few enough to drop the others soon.
constexpr int kSearchRound = 10;

// RoundEnd is how one `bazel test` ended.
enum class RoundEnd { kCompleted, kInterrupted };

class Hunter {
 public:
  Hunter(const HuntOptions& options, const HuntEnvironment& env)
      : options_(options),
        env_(env),
        clock_(*env.clock),
        progress_(*env.out, env.tty, *env.clock) {}

  Hunter(const Hunter&) = delete;
  Hunter& operator=(const Hunter&) = delete;

  absl::StatusOr<HuntResult> Run();

  // CleanUp removes the hunt's cgroups (whatever Run returned).
  void CleanUp();

 private:
  absl::Status CheckOptions();
  absl::Status CheckWorkspace();
  absl::StatusOr<std::vector<std::string>> ValidateTargets();
  absl::StatusOr<std::string> ResolveWrapper();
  absl::Status Build(const std::vector<std::string>& targets);
  int NextRoundSize(const ProfileState& state, int profiles_left);
  absl::StatusOr<RoundEnd> RunRound(ProfileState& state, int runs);
  // SetUpDirect resolves direct runs after the build, or says why the hunt
  // falls back to Bazel (a message, not an error).
  absl::Status SetUpDirect();
  absl::StatusOr<RoundEnd> RunDirectRoundOf(ProfileState& state, int runs,
                                            const TestInvocation& invocation);
  // Publish hands one run's trials to every sink of the trial stream.
  absl::Status Publish(const std::vector<Trial>& run);
  // Flush asks every sink to write what it holds (the store's batch).
  absl::Status Flush();
  absl::Status HandleResults(ProfileState& state, const BepEvents& events);
  absl::StatusOr<bool> Decided(const ProfileState& state);
  // Searching is true while an auto search has no winner yet.
  bool Searching() const {
    return search_.has_value() && !search_->Winner().has_value();
  }
  // EndSearchPass ranks the arms after a pass and stops the dropped ones.
  void EndSearchPass();
  // SkipArm takes an arm that cannot be applied out of the search; an
  // error when it was the last one.
  absl::Status SkipArm(ProfileState& state);
  // RefuseTarget takes the target the wrapper refused out of an arm that
  // has others left and says so; false when it has none (the arm must be
  // skipped).
  bool RefuseTarget(ProfileState& state);
  // TargetsOf are the hunt's targets less those `state` refused and those
  // an auto arm settled first.
  std::vector<std::string> TargetsOf(const ProfileState& state) const;
  // SettleArm ends the search when `state`, an auto arm, has settled its
  // verdicts first: as the winner when it ran every target; otherwise its
  // targets leave the search, which goes on for the ones it refused.
  absl::Status SettleArm(ProfileState& state);
  // NeedsWrapper: `none` has nothing to apply and runs as plain `bazel
  // test` would (Bazel spends several ms of CPU per run on a --run_under,
  // direct runs an exec), except remotely, where the wrapper's record names
  // the worker that ran it.
  bool NeedsWrapper(const ProfileState& state) const {
    return !state.parsed.IsNone() || RunsRemotely(options_.bazel.extra_flags);
  }
  bool StopRequested() const { return env_.stop->load(); }
  // SettleAbandoned settles the hunts of this host whose process died
  // (recovery.h) and says what it did.
  void SettleAbandoned();
  absl::Status Fail(absl::Status status);

  const HuntOptions& options_;
  const HuntEnvironment& env_;
  Clock& clock_;
  RunProgress progress_;
  HuntResult result_;
  std::vector<ProfileState> states_;
  std::unique_ptr<results::Store> store_;
  // The trial stream: the store writer first (so what the others show is
  // being written), then the environment's sinks, then the progress line.
  std::unique_ptr<StoreWriter> store_writer_;
  std::vector<results::TrialSink*> sinks_;
  bool hunt_begun_ = false;
  absl::Time started_;
  RunContext context_;
  std::optional<std::string> starve_error_;
  std::string starve_error_target_;   // the target whose run it was
  // Targets an auto arm that refused the others settled first: no arm
  // runs them any more (--until_decided).
  std::vector<std::string> settled_targets_;
  bool starve_error_remote_ = false;  // the wrapper failed on a remote worker
  // results_error_: a run whose results cannot be read here (left in the
  // remote cache); the hunt stops with it.
  std::optional<absl::Status> results_error_;
  int round_ = 0;
  std::string cgroup_parent_;  // relative to the mount; "" when unused
  std::string cgroup_mount_;
  std::optional<ArmSearch> search_;  // with options_.auto_search
  // What direct runs need, once resolved after the build; nullopt for
  // Bazel runs (asked for, or fallen back to).
  struct Direct {
    std::vector<DirectTest> tests;
    std::string wrapper;  // the wrapper's binary; "" without one
    std::vector<std::pair<std::string, std::string>> test_env;
    std::vector<std::string> test_args;  // --test_arg values
    int jobs = 1;
  };
  std::optional<Direct> direct_;
};

absl::Status Hunter::CheckOptions() {
  if (options_.hunt_id.empty()) {
    return absl::InvalidArgumentError("the hunt needs an id (HuntOptions::hunt_id)");
  }
  if (options_.targets.empty()) {
    return absl::InvalidArgumentError(
        "no targets: name the test targets to hunt, e.g. flaky hunt "
        "//tests/race:already_running_original");
  }
  if (options_.profiles.empty()) {
    return absl::InvalidArgumentError(
        "no profiles: give --profiles, e.g. --profiles=none,cgroup:20");
  }
  if (options_.runs < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--runs must be at least 1, got ", options_.runs));
  }
  if (options_.repeat < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--repeat must be at least 1, got ", options_.repeat));
  }
  if (options_.round_runs < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--round_runs must be 0 (automatic) or more, got ",
        options_.round_runs));
  }
  if (options_.budget < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--budget must not be negative");
  }
  if (options_.until_decided && !options_.decide) {
    return absl::FailedPreconditionError(
        "--until_decided needs the statistics decision, which this build "
        "lacks: use --runs or --budget");
  }
  if (options_.until_decided && options_.budget > absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "--until_decided and --budget exclude each other: pick one");
  }
  if (options_.auto_search) search_.emplace(options_.profiles);
  for (const std::string& text : options_.profiles) {
    absl::StatusOr<starve::Profile> parsed = starve::ParseProfile(text);
    if (!parsed.ok() && search_.has_value()) {
      // An arm this build cannot even parse is one it cannot apply.
      FLAKY_RETURN_IF_ERROR(search_->Skip(text, std::string(parsed.status().message())));
      continue;
    }
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad profile in --profiles: ", parsed.status().message()));
    }
    for (const ProfileState& other : states_) {
      if (other.text == text) {
        return absl::InvalidArgumentError(
            absl::StrCat("profile ", text, " is given twice in --profiles"));
      }
    }
    states_.push_back({.text = text, .parsed = *parsed});
  }
  if (states_.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no profile of --profiles=auto is known to this wrapper:\n", search_->Describe()));
  }
  return absl::OkStatus();
}

absl::Status Hunter::CheckWorkspace() {
  const std::string& ws = options_.workspace;
  if (ws.empty() || !IsDirectory(ws) ||
      (!IsFile(ws + "/WORKSPACE") && !IsFile(ws + "/WORKSPACE.bazel"))) {
    return absl::FailedPreconditionError(absl::StrCat(
        "not inside a Bazel workspace (no WORKSPACE file in ",
        ws.empty() ? "the current directory or its parents" : ws,
        "): run flaky from a workspace, or with bazel run"));
  }
  const std::string& bazel = options_.bazel.bazel;
  if (bazel.find('/') == std::string::npos) {
    const char* path = std::getenv("PATH");
    absl::StatusOr<std::string> found =
        FindOnPath(bazel, path == nullptr ? "" : path);
    if (!found.ok()) {
      return absl::NotFoundError(absl::StrCat(
          found.status().message(), " (flaky drives Bazel: pass --bazel=PATH)"));
    }
  } else if (access(bazel.c_str(), X_OK) != 0) {
    return absl::NotFoundError(
        absl::StrCat("--bazel=", bazel, " is not an executable file"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> Hunter::ValidateTargets() {
  FLAKY_ASSIGN_OR_RETURN(
      CommandResult query,
      env_.launcher->Run({.argv = QueryTestsCommand(options_.bazel,
                                                    options_.targets),
                          .working_dir = options_.workspace}));
  if (!query.status.Exited(0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad targets (bazel query ", query.status.ToString(),
                     "): ", FirstBazelError(query.stderr_text)));
  }
  FLAKY_ASSIGN_OR_RETURN(std::vector<LabelKind> kinds,
                         ParseLabelKinds(query.stdout_text));
  return SelectTests(options_.targets, kinds);
}

absl::StatusOr<std::string> Hunter::ResolveWrapper() {
  // A hunt of `none` alone never starts the wrapper: no query for it,
  // nothing more to build.
  if (std::none_of(states_.begin(), states_.end(),
                   [this](const ProfileState& state) { return NeedsWrapper(state); })) {
    return std::string();
  }
  if (options_.wrapper_candidates.empty()) return options_.wrapper;
  for (const std::string& candidate : options_.wrapper_candidates) {
    FLAKY_ASSIGN_OR_RETURN(
        CommandResult query,
        env_.launcher->Run({.argv = QueryLabelCommand(options_.bazel, candidate),
                            .working_dir = options_.workspace}));
    if (query.status.Exited(0)) return candidate;
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "the starve wrapper is not in this workspace (tried ",
      absl::StrJoin(options_.wrapper_candidates, ", "),
      "): load flaky as an external repository named flaky, or pass "
      "--starve_wrapper=LABEL"));
}

absl::Status Hunter::Build(const std::vector<std::string>& targets) {
  const std::string log = absl::StrCat(result_.work_dir, "/build.log");
  progress_.Message(absl::StrCat("flaky: building ", targets.size(),
                                 " test target(s)", 
                                 result_.wrapper.empty() ? "" : " and the starve wrapper",
                                 " (log: ", log, ")"));
  FLAKY_ASSIGN_OR_RETURN(
      std::unique_ptr<Process> build,
      env_.launcher->Start(
          {.argv = BuildCommand(options_.bazel, targets, result_.wrapper),
           .working_dir = options_.workspace,
           .stdout_path = log,
           .stderr_path = log}));
  std::optional<ExitStatus> status;
  while (!(status = build->Poll())) {
    if (StopRequested()) {
      StopProcess(*build, options_.stop_grace, clock_, env_.hurry);
      return absl::CancelledError("interrupted while building");
    }
    SleepUntilEnd(*build, clock_, options_.poll_interval);
  }
  if (!status->Exited(0)) return BazelFailed("bazel build", *status, log);
  return absl::OkStatus();
}

int Hunter::NextRoundSize(const ProfileState& state, int profiles_left) {
  if (options_.budget > absl::ZeroDuration()) {
    const absl::Duration left = options_.budget - (clock_.Now() - started_);
    if (left <= absl::ZeroDuration()) return 0;
    if (state.rounds_runs == 0 || Searching()) {
      return options_.round_runs > 0 ? options_.round_runs : kSearchRound;
    }
    // Rounds are sized from this profile's measured time per run (Bazel's
    // start-up included), aiming a little short of the budget: overshoot
    // costs a whole round, undershoot only the tail.
    const absl::Duration per_run = state.wall / state.rounds_runs;
    const absl::Duration share = left / std::max(1, profiles_left);
    int64_t runs = static_cast<int64_t>(
        std::floor(0.9 * absl::FDivDuration(share, per_run)));
    if (options_.round_runs > 0) {
      runs = std::min<int64_t>(runs, options_.round_runs);
    }
    return static_cast<int>(std::clamp<int64_t>(runs, 0, 100000));
  }
  const int64_t left = options_.runs - state.rounds_runs;
  if (left <= 0) return 0;
  int round = options_.round_runs;
  // A search compares its arms round by round: small rounds until it
  // has a winner.
  if (round == 0 && Searching()) round = kSearchRound;
  if (round == 0) round = options_.until_decided ? 50 : options_.runs;
  return static_cast<int>(std::min<int64_t>(left, round));
}

absl::Status Hunter::Publish(const std::vector<Trial>& run) {
  for (results::TrialSink* sink : sinks_) FLAKY_RETURN_IF_ERROR(sink->Accept(run));
  return absl::OkStatus();
}

absl::Status Hunter::Flush() {
  absl::Status first = absl::OkStatus();
  for (results::TrialSink* sink : sinks_) {
    if (absl::Status flushed = sink->Flush(); first.ok()) first = flushed;
  }
  if (store_writer_ != nullptr) result_.trials = store_writer_->written();
  return first;
}

absl::Status Hunter::HandleResults(ProfileState& state,
                                   const BepEvents& events) {
  for (const BepTestResult& run : events.test_results) {
    // After a wrapper error the hunt is over: runs that finish while Bazel
    // stops are not evidence for a profile that could not be applied.
    if (starve_error_ || results_error_) break;
    RunReading reading = ReadRun(run, context_, options_.max_log_bytes);
    switch (reading.kind) {
      case RunReading::Kind::kTrials:
        break;
      // A run Bazel never ran (cancelled by Ctrl-C, or its target failed to
      // build) is not a trial.
      case RunReading::Kind::kNotRun:
        continue;
      case RunReading::Kind::kLeftRemote:
        // Reading nothing would turn every such run into an error trial, a
        // failure that never happened.
        results_error_ = absl::FailedPreconditionError(absl::StrCat(
            reading.reason,
            ": flaky reads every run's test.log and test.xml on this machine; "
            "with remote execution pass --remote_download_toplevel (or "
            "--remote_download_outputs=all) after --config=remote, not "
            "--remote_download_minimal"));
        return absl::OkStatus();
      case RunReading::Kind::kStarveError:
        // The wrapper ran nothing: counting this as a test failure would
        // report starvation that never happened.
        starve_error_ = reading.reason;
        starve_error_target_ = run.label;
        starve_error_remote_ = run.strategy == "remote";
        return absl::OkStatus();
    }
    const std::vector<Trial>& trials = reading.trials;
    const bool failed = std::any_of(
        trials.begin(), trials.end(),
        [](const Trial& trial) { return results::IsFailure(trial.outcome); });
    ++state.runs_done;
    ++result_.runs;
    if (failed) {
      ++state.failed_runs;
      ++result_.failed_runs;
    }
    FLAKY_RETURN_IF_ERROR(Publish(trials));
  }
  progress_.Refresh();
  return absl::OkStatus();
}

absl::StatusOr<RoundEnd> Hunter::RunRound(ProfileState& state, int runs) {
  ++round_;
  const std::string stem = RoundStem(result_.work_dir, round_);
  const std::string bep_path = stem + ".bep.json";
  const std::string log_path = stem + ".bazel.log";
  unlink(bep_path.c_str());
  context_.profile = state.text;
  // What the round's trials need besides the BEP, on disk before Bazel
  // starts: if this process dies, a later flaky recovers the runs Bazel
  // finished (recovery.h).
  FLAKY_RETURN_IF_ERROR(WriteRoundRecord(RoundRecordPath(result_.work_dir, round_),
                                         {.round = round_,
                                          .context = context_,
                                          .targets = TargetsOf(state),
                                          .runs = runs,
                                          .run_offset = state.rounds_runs,
                                          .max_log_bytes = options_.max_log_bytes,
                                          .bep_path = bep_path}));
  TestInvocation invocation{
      .targets = TargetsOf(state),
      .profile = state.text,
      .runs = runs,
      .wrapper = NeedsWrapper(state) ? result_.wrapper : "",
      .allow_fallback = options_.allow_fallback,
      .cgroup_parent = state.parsed.cgroup ? cgroup_parent_ : "",
      // sched too: linux-sandbox's root has no CAP_SYS_NICE to undo idle,
      // nice and fifo.
      .needs_process_wrapper =
          state.parsed.cgroup.has_value() || state.parsed.sched.has_value(),
      .run_offset = state.rounds_runs,
      .repeat = options_.repeat,
      .bep_path = bep_path,
  };
  progress_.SetProfile(state.text);
  if (direct_.has_value()) return RunDirectRoundOf(state, runs, invocation);
  const absl::Time round_start = clock_.Now();
  FLAKY_ASSIGN_OR_RETURN(
      std::unique_ptr<Process> bazel,
      env_.launcher->Start({.argv = TestCommand(options_.bazel, invocation),
                            .working_dir = options_.workspace,
                            .stdout_path = log_path,
                            .stderr_path = log_path}));
  results::BepReader reader(bep_path);
  bool interrupted = false;
  std::optional<ExitStatus> exit;
  while (true) {
    exit = bazel->Poll();
    if (!exit && (StopRequested() || starve_error_ || results_error_)) {
      interrupted = StopRequested();
      exit = StopProcess(*bazel, options_.stop_grace, clock_, env_.hurry);
    }
    absl::StatusOr<BepEvents> events = exit ? reader.Finish() : reader.Poll();
    if (!events.ok()) {
      if (!exit) StopProcess(*bazel, options_.stop_grace, clock_, env_.hurry);
      if (events.status().code() == absl::StatusCode::kNotFound) {
        if (interrupted) break;
        if (exit && exit->Exited(34)) {
          return BazelFailed("bazel test", *exit, log_path);
        }
        return absl::FailedPreconditionError(absl::StrCat(
            "bazel test wrote no build events (", exit->ToString(), "): ",
            FirstBazelError(ReadText(log_path)), " (full log: ", log_path,
            ")"));
      }
      return absl::FailedPreconditionError(
          absl::StrCat("cannot read Bazel's build events: ",
                       events.status().message(), " (Bazel log: ", log_path,
                       ")"));
    }
    FLAKY_RETURN_IF_ERROR(HandleResults(state, *events));
    if (exit) {
      if (events->truncated && !interrupted && !starve_error_ &&
          !results_error_) {
        std::string cause = FirstBazelError(ReadText(log_path));
        if (!absl::StartsWith(cause, "the disk is full")) {
          // A full disk may leave no room for Bazel's log of it either.
          if (std::optional<std::string> full = DiskFull(bep_path)) cause = *full;
        }
        if (absl::StartsWith(cause, "the disk is full")) {
          return absl::UnavailableError(absl::StrCat(
              "Bazel could not finish its build event file ", bep_path, ": ", cause,
              " (log: ", log_path, ")"));
        }
        return absl::FailedPreconditionError(absl::StrCat(
            "Bazel's build event file ", bep_path,
            " ends in half a line: Bazel died while writing it (",
            exit->ToString(), "; log: ", log_path, ")"));
      }
      break;
    }
    SleepUntilEnd(*bazel, clock_, options_.poll_interval);
  }
  FLAKY_RETURN_IF_ERROR(Flush());
  if (results_error_) return *results_error_;
  state.wall += clock_.Now() - round_start;
  state.rounds_runs += runs;
  if (starve_error_) {
    return absl::FailedPreconditionError(absl::StrCat(
        "profile ", state.text, " cannot be applied ",
        starve_error_remote_ ? "on the remote executor" : "here", ": ",
        *starve_error_,
        options_.allow_fallback ? "" : " (--allow_fallback runs without the "
                                       "parts that cannot be applied)"));
  }
  if (interrupted) return RoundEnd::kInterrupted;
  // 0: all passed; 3: some tests failed. Anything else is Bazel failing.
  if (!exit->Exited(0) && !exit->Exited(3)) {
    return BazelFailed("bazel test", *exit, log_path);
  }
  return RoundEnd::kCompleted;
}

absl::Status Hunter::SetUpDirect() {
  auto fall_back = [&](absl::string_view why) {
    progress_.Message(absl::StrCat("flaky: --mode=direct: ", why,
                                   "; hunting with bazel test instead"));
    return absl::OkStatus();
  };
  if (RunsRemotely(options_.bazel.extra_flags)) {
    return fall_back("the tests run on a remote executor, not here");
  }
  FLAKY_ASSIGN_OR_RETURN(
      CommandResult info,
      env_.launcher->Run({.argv = InfoCommand(options_.bazel, "bazel-bin"),
                          .working_dir = options_.workspace}));
  if (!info.status.Exited(0)) {
    return fall_back(absl::StrCat("bazel info bazel-bin failed: ",
                                  FirstBazelError(info.stderr_text)));
  }
  const std::string bazel_bin(absl::StripAsciiWhitespace(info.stdout_text));
  FLAKY_ASSIGN_OR_RETURN(
      CommandResult query,
      env_.launcher->Run({.argv = QueryXmlCommand(options_.bazel, result_.targets),
                          .working_dir = options_.workspace}));
  if (!query.status.Exited(0)) {
    return fall_back(absl::StrCat("bazel query --output=xml failed: ",
                                  FirstBazelError(query.stderr_text)));
  }
  absl::StatusOr<std::vector<DirectTest>> tests = ParseDirectTests(
      query.stdout_text, bazel_bin, WorkspaceName(options_.workspace));
  // A target nothing could run (its binary gone after the build) is the
  // user's to fix, not a reason to quietly hunt another way.
  if (absl::IsInvalidArgument(tests.status())) return tests.status();
  if (!tests.ok()) return fall_back(tests.status().message());
  Direct direct;
  direct.tests = *std::move(tests);
  if (!result_.wrapper.empty()) {
    // The wrapper's label as a path under bazel-bin: "//a/b:c" -> a/b/c,
    // "@r//a/b:c" -> external/r/a/b/c.
    std::string label = result_.wrapper;
    std::string prefix;
    if (absl::StartsWith(label, "@")) {
      const size_t slashes = label.find("//");
      prefix = absl::StrCat("external/", label.substr(1, slashes - 1), "/");
      label = label.substr(slashes);
    }
    const size_t colon = label.find(':');
    direct.wrapper = absl::StrCat(bazel_bin, "/", prefix, label.substr(2, colon - 2), "/",
                                  label.substr(colon + 1));
    if (access(direct.wrapper.c_str(), X_OK) != 0) {
      return fall_back(absl::StrCat("the starve wrapper ", direct.wrapper, " is not built"));
    }
  }
  direct.test_env = TestEnvFromFlags(options_.bazel.extra_flags, [](const char* name) {
    return std::getenv(name);
  });
  for (const std::string& flag : options_.bazel.extra_flags) {
    absl::string_view rest = flag;
    if (absl::ConsumePrefix(&rest, "--test_arg=")) direct.test_args.emplace_back(rest);
  }
  if (options_.repeat > 1) {
    direct.test_args.push_back(absl::StrCat("--gtest_repeat=", options_.repeat));
  }
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  direct.jobs = options_.jobs > 0 ? options_.jobs : static_cast<int>(std::max(1L, cpus));
  direct_ = std::move(direct);
  if (options_.repeat <= 1) result_.mode = results::HuntMode::kDirectRuns;
  progress_.Message(absl::StrCat("flaky: running the test binaries directly, ",
                                 direct_->jobs, " at once"));
  return absl::OkStatus();
}

absl::StatusOr<RoundEnd> Hunter::RunDirectRoundOf(ProfileState& state, int runs,
                                                  const TestInvocation& invocation) {
  const absl::Time round_start = clock_.Now();
  DirectRoundOptions round;
  const std::vector<std::string> targets = TargetsOf(state);
  for (const DirectTest& test : direct_->tests) {
    if (std::find(targets.begin(), targets.end(), test.label) != targets.end()) {
      round.tests.push_back(test);
    }
  }
  round.runs = runs;
  round.jobs = direct_->jobs;
  if (!direct_->wrapper.empty() && !invocation.wrapper.empty()) {
    round.wrapper = {direct_->wrapper};
    for (const std::string& flag : WrapperFlags(invocation)) round.wrapper.push_back(flag);
  }
  round.test_env = direct_->test_env;
  round.extra_args = direct_->test_args;
  round.work_dir = absl::StrCat(result_.work_dir, "/round", round_);
  FLAKY_ASSIGN_OR_RETURN(
      bool interrupted,
      RunDirectRound(round, *env_.launcher, clock_, *env_.stop, env_.hurry,
                     options_.stop_grace, [&](const results::BepTestResult& run) {
                       BepEvents events;
                       events.test_results.push_back(run);
                       return HandleResults(state, events);
                     }));
  FLAKY_RETURN_IF_ERROR(Flush());
  if (results_error_) return *results_error_;
  state.wall += clock_.Now() - round_start;
  state.rounds_runs += runs;
  if (starve_error_) {
    return absl::FailedPreconditionError(absl::StrCat(
        "profile ", state.text, " cannot be applied here: ", *starve_error_,
        options_.allow_fallback ? "" : " (--allow_fallback runs without the "
                                       "parts that cannot be applied)"));
  }
  return interrupted ? RoundEnd::kInterrupted : RoundEnd::kCompleted;
}

absl::StatusOr<bool> Hunter::Decided(const ProfileState& state) {
  // Every profile's rows, not only this one's: FLAKY is corrected over the
  // whole hunt's family.
  FLAKY_ASSIGN_OR_RETURN(std::vector<results::CaseSummary> rows,
                         store_->Summarize({.hunt_ids = {result_.hunt_id},
                                            .targets = {},
                                            .profiles = {}}));
  // Less this profile's rows of targets it no longer runs (another arm
  // settled them): they would keep it from ever being decided. Their
  // cases stay in the family through the rows of the arm that settled
  // them, and whatever stops the hunt, the report judges every row.
  const std::vector<std::string> targets = TargetsOf(state);
  rows.erase(std::remove_if(rows.begin(), rows.end(),
                            [&](const results::CaseSummary& row) {
                              return row.profile == state.text &&
                                     std::find(targets.begin(), targets.end(),
                                               row.target) == targets.end();
                            }),
             rows.end());
  return options_.decide(rows, state.text);
}

absl::Status Hunter::SettleArm(ProfileState& state) {
  if (state.refused_targets.empty()) {
    // The first arm to settle every verdict ends the search: it is the
    // profile that decides fastest.
    FLAKY_RETURN_IF_ERROR(search_->Choose(state.text));
    for (ProfileState& other : states_) other.done = true;
    return absl::OkStatus();
  }
  const std::vector<std::string> settled = TargetsOf(state);
  FLAKY_RETURN_IF_ERROR(search_->Settle(state.text, settled));
  settled_targets_.insert(settled_targets_.end(), settled.begin(), settled.end());
  progress_.Message(absl::StrCat("flaky: auto: ", state.text, " settled ",
                                 absl::StrJoin(settled, " "),
                                 " first; the search goes on for ",
                                 absl::StrJoin(state.refused_targets, " ")));
  auto is_active = [&](const ProfileState& other) {
    const std::vector<std::string> active = search_->Active();
    return std::find(active.begin(), active.end(), other.text) != active.end();
  };
  for (ProfileState& other : states_) {
    if (!is_active(other) || !TargetsOf(other).empty()) continue;
    other.done = true;
    FLAKY_RETURN_IF_ERROR(search_->Skip(
        other.text, absl::StrCat("every target it takes was settled by ", state.text)));
  }
  if (!search_->Active().empty()) return absl::OkStatus();
  // The arms dropped in favour of this one may still run the rest.
  std::vector<std::string> revived;
  for (ProfileState& other : states_) {
    if (&other == &state || TargetsOf(other).empty()) continue;
    if (search_->Revive(other.text).ok()) {
      other.done = false;
      revived.push_back(other.text);
    }
  }
  progress_.Message(
      revived.empty()
          ? absl::StrCat("flaky: auto: no profile of the family can run ",
                         absl::StrJoin(state.refused_targets, " "),
                         "; they stay undecided")
          : absl::StrCat("flaky: auto: ", absl::StrJoin(revived, ", "),
                         " dropped earlier, back in the search for ",
                         absl::StrJoin(state.refused_targets, " ")));
  return absl::OkStatus();
}

void Hunter::EndSearchPass() {
  const std::vector<std::string> before = search_->Active();
  search_->EndPass();
  const std::vector<std::string> after = search_->Active();
  for (ProfileState& state : states_) {
    if (std::find(after.begin(), after.end(), state.text) == after.end()) {
      state.done = true;
    }
  }
  if (before.size() > 1) {
    progress_.Message(absl::StrCat(
        "flaky: auto pass ", search_->passes(), ": keeping ",
        absl::StrJoin(after, ", "),
        search_->Winner().has_value() ? " (the winner)" : ""));
  }
}

std::vector<std::string> Hunter::TargetsOf(const ProfileState& state) const {
  std::vector<std::string> targets;
  auto has = [](const std::vector<std::string>& list, const std::string& target) {
    return std::find(list.begin(), list.end(), target) != list.end();
  };
  for (const std::string& target : result_.targets) {
    if (!has(state.refused_targets, target) && !has(settled_targets_, target)) {
      targets.push_back(target);
    }
  }
  return targets;
}

bool Hunter::RefuseTarget(ProfileState& state) {
  if (starve_error_target_.empty() || TargetsOf(state).size() < 2) return false;
  state.refused_targets.push_back(starve_error_target_);
  progress_.Message(absl::StrCat("flaky: auto: ", state.text, " cannot be applied to ",
                                 starve_error_target_, ": ", *starve_error_,
                                 "; it goes on with the other targets"));
  starve_error_.reset();
  starve_error_target_.clear();
  return true;
}

absl::Status Hunter::SkipArm(ProfileState& state) {
  const std::string reason = *starve_error_;
  starve_error_.reset();
  state.done = true;
  FLAKY_RETURN_IF_ERROR(search_->Skip(state.text, reason));
  progress_.Message(absl::StrCat("flaky: auto: skipping ", state.text,
                                 ", which cannot be applied here: ", reason));
  if (search_->Active().empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no profile of --profiles=auto can be applied here:\n",
        search_->Describe()));
  }
  return absl::OkStatus();
}

void Hunter::SettleAbandoned() {
  absl::StatusOr<std::vector<SettledHunt>> settled =
      SettleAbandonedHunts(*store_, LocalSettleOptions(options_.host, clock_));
  if (!settled.ok()) {
    // Not this hunt's failure: a later flaky tries again.
    progress_.Message(absl::StrCat("flaky: warning: cannot settle the hunts whose "
                                   "process died: ", settled.status().message()));
    return;
  }
  for (const SettledHunt& hunt : *settled) progress_.Message(DescribeSettled(hunt));
}

absl::Status Hunter::Fail(absl::Status status) {
  if (hunt_begun_) {
    // Keep what completed; the hunt's row says why it ended.
    (void)Flush();
    const results::HuntStatus ending = absl::IsCancelled(status)
                                           ? results::HuntStatus::kInterrupted
                                           : results::HuntStatus::kFailed;
    if (!store_->FinishHunt(result_.hunt_id, results::FormatHuntStatus(ending, status.message()),
                            clock_.Now())
             .ok() &&
        ending == results::HuntStatus::kFailed) {
      // The store cannot take it (a full disk): the next flaky reads the
      // reason from the note reserved at the start (recovery.h).
      (void)WriteEndNote(result_.work_dir, status.message());
    }
  }
  return status;
}

absl::StatusOr<HuntResult> Hunter::Run() {
  const absl::Time hunt_start = clock_.Now();
  started_ = hunt_start;
  FLAKY_RETURN_IF_ERROR(CheckOptions());
  FLAKY_RETURN_IF_ERROR(CheckWorkspace());
  result_.hunt_id = options_.hunt_id;
  result_.mode = options_.repeat > 1 ? results::HuntMode::kInProcessRepeat
                                     : results::HuntMode::kBazelRuns;
  result_.store_path = options_.store_path;
  result_.work_dir = absl::StrCat(options_.store_path, ".hunts/",
                                  result_.hunt_id);
  const bool wrapped = !options_.wrapper.empty() ||
                       !options_.wrapper_candidates.empty();
  for (const ProfileState& state : states_) {
    if (!wrapped && !state.parsed.IsNone()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "profile ", state.text,
          " needs the starve wrapper, but --starve_wrapper is empty"));
    }
  }
  // The store first: an unwritable one should fail before minutes of build.
  FLAKY_ASSIGN_OR_RETURN(
      store_, results::Store::Open(options_.store_path,
                                   {.max_log_bytes = options_.max_log_bytes}));
  store_writer_ = std::make_unique<StoreWriter>(
      *store_, clock_,
      StoreBatching{.batch_trials = options_.batch_trials,
                    .batch_interval = options_.batch_interval});
  sinks_ = {store_writer_.get()};
  sinks_.insert(sinks_.end(), env_.sinks.begin(), env_.sinks.end());
  sinks_.push_back(&progress_);
  FLAKY_RETURN_IF_ERROR(MakeDirectories(result_.work_dir));
  // A fallback only: a hunt that cannot reserve it runs all the same.
  (void)ReserveEndNote(result_.work_dir);
  SettleAbandoned();
  FLAKY_ASSIGN_OR_RETURN(result_.targets, ValidateTargets());
  FLAKY_ASSIGN_OR_RETURN(result_.wrapper, ResolveWrapper());
  const std::string& commit = options_.commit;
  result_.commit = commit;
  context_ = {.hunt_id = result_.hunt_id,
              .profile = "",
              .commit = commit,
              .host = options_.host,
              .in_process_repeat = options_.repeat > 1};
  FLAKY_RETURN_IF_ERROR(Build(result_.targets));
  if (options_.direct) FLAKY_RETURN_IF_ERROR(SetUpDirect());

  // cgroup profiles: every run group of this hunt goes under one parent,
  // so CleanUp can remove what killed wrappers leave. Where there is no
  // usable hierarchy the wrapper reports why, per run.
  if (std::any_of(states_.begin(), states_.end(), [](const ProfileState& s) {
        return s.parsed.cgroup.has_value();
      })) {
    absl::StatusOr<starve::CpuHierarchy> hierarchy =
        starve::DetectCpuHierarchy();
    absl::StatusOr<ProcessOwner> self = Self();
    if (hierarchy.ok() && !hierarchy->read_only && self.ok()) {
      cgroup_mount_ = hierarchy->mount;
      cgroup_parent_ = HuntCgroupParent(result_.hunt_id, *self);
      // What killed hunts left behind goes now, before it competes with
      // this hunt's runs for CPU.
      SweepAbandonedHuntCgroups(absl::StrCat(cgroup_mount_, "/flaky"),
                                absl::Seconds(10), clock_);
    }
  }

  std::vector<std::string> profiles;
  for (const ProfileState& state : states_) profiles.push_back(state.text);
  results::HuntRecord hunt;
  hunt.id = result_.hunt_id;
  hunt.started_at = started_;
  hunt.command_line = options_.command_line;
  hunt.commit = commit;
  hunt.host = options_.host;
  hunt.profiles = profiles;
  hunt.mode = std::string(results::HuntModeName(result_.mode));
  // The owner lets a later flaky tell this hunt, should this process die,
  // from a live one. Without /proc it stays unknown and is never judged.
  if (absl::StatusOr<ProcessOwner> self = Self(); self.ok()) {
    hunt.owner_pid = self->pid;
    hunt.owner_start_ticks = self->start_ticks;
  }
  FLAKY_RETURN_IF_ERROR(store_->BeginHunt(hunt));
  hunt_begun_ = true;
  // Rates, ETAs and the budget count from the first run, not from the
  // build (which may take minutes once and says nothing about run time).
  started_ = clock_.Now();
  if (options_.budget > absl::ZeroDuration()) {
    progress_.Begin(std::nullopt, options_.budget);
  } else {
    progress_.Begin(options_.until_decided
                        ? std::nullopt
                        : std::optional<int64_t>(
                              static_cast<int64_t>(options_.runs) *
                              static_cast<int64_t>(states_.size()) *
                              static_cast<int64_t>(result_.targets.size())),
                    std::nullopt);
  }
  progress_.SetProfile(states_.front().text);
  progress_.Message(absl::StrCat(
      "flaky: hunt ", result_.hunt_id, ": ", result_.targets.size(),
      " target(s) x ", states_.size(),
      search_.has_value() ? " profile(s) searched by --profiles=auto" : " profile(s)",
      options_.budget > absl::ZeroDuration()
          ? absl::StrCat(" for ", absl::FormatDuration(options_.budget))
          : absl::StrCat(", ", options_.until_decided ? "up to " : "",
                         options_.runs, " runs each"),
      options_.repeat > 1
          ? absl::StrCat(" x ", options_.repeat, " in-process repetitions")
          : ""));

  bool interrupted = false;
  while (!interrupted) {
    bool ran = false;
    int left = static_cast<int>(std::count_if(
        states_.begin(), states_.end(),
        [](const ProfileState& state) { return !state.done; }));
    for (ProfileState& state : states_) {
      if (state.done) continue;
      const int runs = NextRoundSize(state, left--);
      if (runs <= 0) {
        state.done = true;
        continue;
      }
      const int64_t runs_before = state.runs_done;
      const int64_t failed_before = state.failed_runs;
      const absl::Duration wall_before = state.wall;
      absl::StatusOr<RoundEnd> end = RunRound(state, runs);
      if (!end.ok() && search_.has_value() && starve_error_.has_value()) {
        if (RefuseTarget(state)) {
          // Its other targets' runs of this round count for the arm.
          absl::Status recorded = search_->Record(
              state.text, state.runs_done - runs_before,
              state.failed_runs - failed_before, state.wall - wall_before);
          if (!recorded.ok()) return Fail(recorded);
          ran = true;
          continue;
        }
        if (absl::Status skipped = SkipArm(state); !skipped.ok()) return Fail(skipped);
        continue;
      }
      if (!end.ok()) return Fail(end.status());
      ran = true;
      if (search_.has_value()) {
        absl::Status recorded = search_->Record(
            state.text, state.runs_done - runs_before,
            state.failed_runs - failed_before, state.wall - wall_before);
        if (!recorded.ok()) return Fail(recorded);
      }
      if (*end == RoundEnd::kInterrupted) {
        interrupted = true;
        break;
      }
      if (options_.until_decided) {
        absl::StatusOr<bool> decided = Decided(state);
        if (!decided.ok()) return Fail(decided.status());
        if (*decided) {
          state.done = true;
          if (search_.has_value() && !search_->Winner().has_value()) {
            if (absl::Status settled = SettleArm(state); !settled.ok()) {
              return Fail(settled);
            }
            if (search_->Winner().has_value()) break;
          }
        }
      }
    }
    if (search_.has_value() && !interrupted && Searching()) EndSearchPass();
    if (!ran) break;
  }
  if (search_.has_value()) {
    result_.auto_summary = search_->Describe();
    result_.auto_winner = search_->Winner();
  }
  if (absl::Status flushed = Flush(); !flushed.ok()) return Fail(flushed);
  result_.status =
      interrupted ? results::HuntStatus::kInterrupted : results::HuntStatus::kDone;
  result_.elapsed = clock_.Now() - hunt_start;
  progress_.Finish();
  FLAKY_RETURN_IF_ERROR(store_->FinishHunt(
      result_.hunt_id, results::FormatHuntStatus(result_.status), clock_.Now()));
  FLAKY_ASSIGN_OR_RETURN(result_.summaries,
                         store_->Summarize({.hunt_ids = {result_.hunt_id},
                                            .targets = {},
                                            .profiles = {}}));
  return result_;
}

void Hunter::CleanUp() {
  if (cgroup_parent_.empty()) return;
  absl::Status removed = RemoveCgroupTree(
      absl::StrCat(cgroup_mount_, "/", cgroup_parent_), absl::Seconds(10),
      clock_);
  if (!removed.ok()) {
    progress_.Message(absl::StrCat("flaky: warning: ", removed.message()));
  }
  SweepAbandonedHuntCgroups(absl::StrCat(cgroup_mount_, "/flaky"), absl::Seconds(10),
                            clock_);
}

}  // namespace

absl::StatusOr<HuntResult> RunHunt(const HuntOptions& options,
                                   const HuntEnvironment& env) {
  if (env.launcher == nullptr || env.clock == nullptr || env.out == nullptr ||
      env.stop == nullptr) {
    return absl::InvalidArgumentError(
        "RunHunt needs a launcher, a clock, an output stream and a stop flag");
  }
  Hunter hunter(options, env);
  absl::StatusOr<HuntResult> result = hunter.Run();
  hunter.CleanUp();
  return result;
}

}  // namespace flaky::runner
