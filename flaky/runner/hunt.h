// A hunt: rerun Bazel test targets under starvation profiles and record
// every trial. This is `flaky hunt` without its flags: the CLI fills
// HuntOptions, main supplies the launcher, clock, console and stop flag.
//
//   HuntOptions options;
//   options.targets = {"//tests/race:already_running_original"};
//   options.profiles = {"none", "cgroup:20", "hogs:2"};
//   options.runs = 500;
//   options.workspace = "/ws";
//   options.store_path = "/ws/flaky.db";
//   options.wrapper = "//flaky/starve:starve";
//   options.hunt_id = "20261202-101500-4242";
//   PosixLauncher launcher;
//   RealClock clock;
//   std::atomic<bool> stop{false};  // set from SIGINT/SIGTERM
//   absl::StatusOr<HuntResult> result = RunHunt(
//       options, {.launcher = &launcher, .clock = &clock, .out = &std::cerr,
//                 .stop = &stop});
//
// Steps: check bazel and the workspace, settle the hunts of this host
// whose process died (recovery.h), validate profiles and targets (`bazel
// query`), find the starve wrapper, build once, then per profile run
// `bazel test --runs_per_test=N --run_under=<wrapper> ...` in rounds,
// each with its RoundRecord written first, reading the BEP while Bazel
// writes it. The hunt records its own process as its owner. Every run's trials go down the
// trial stream as soon as they are read: to the store in batches (so an
// interrupted hunt keeps every completed trial), to the environment's
// sinks (the live metrics), and to the progress line.
#ifndef FLAKY_RUNNER_HUNT_H_
#define FLAKY_RUNNER_HUNT_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "flaky/results/log_keeper.h"
#include "flaky/results/hunt_state.h"
#include "flaky/results/summary.h"
#include "flaky/results/trial_sink.h"
#include "flaky/runner/bazel_command.h"
#include "flaky/runner/clock.h"
#include "flaky/runner/launcher.h"

namespace flaky::runner {

// HuntOptions is everything `flaky hunt` was asked to do.
struct HuntOptions {
  std::vector<std::string> targets;  // labels or patterns, as given
  std::vector<std::string> profiles = {"none"};
  // auto_search makes `profiles` the arms of a search for the profile that
  // exposes failures fastest (arm_search.h, `--profiles=auto`): every arm
  // gets a round per pass, the better half stays, the winner runs on. Arms
  // the machine cannot apply are skipped with the reason.
  bool auto_search = false;
  // runs per profile; with until_decided the most runs per profile; ignored
  // with a budget.
  int runs = 100;
  // budget bounds the hunt's wall time (zero: no budget); rounds are sized
  // from the measured run time so the hunt ends near it.
  absl::Duration budget = absl::ZeroDuration();
  // until_decided stops a profile once its verdicts are decided (`decide`,
  // below) or it reached `runs`.
  bool until_decided = false;
  // round_runs is the --runs_per_test of one round; 0 picks it: all runs at
  // once for --runs, 10 then measured for --budget, 50 for until_decided.
  int round_runs = 0;
  // repeat > 1 runs each test binary with --gtest_repeat=repeat: one Bazel
  // run yields `repeat` trials per case (shared process state: the report
  // says so).
  int repeat = 1;
  BazelSetup bazel;
  std::string workspace;   // absolute path of the workspace to hunt in
  std::string store_path;  // the SQLite database
  // wrapper is the starve wrapper's label; "" runs without it (then only
  // the `none` profile is allowed). When wrapper_candidates is not empty,
  // wrapper is ignored and the first candidate `bazel query` finds is used.
  std::string wrapper;
  std::vector<std::string> wrapper_candidates;
  bool allow_fallback = false;  // wrapper may skip parts it cannot apply
  // hunt_id names the hunt in the store (required; the CLI's Context
  // makes one from the time and pid).
  std::string hunt_id;
  std::string command_line;  // recorded with the hunt
  std::string host;          // recorded with every trial
  // commit is the workspace's `git rev-parse HEAD` (the CLI's Context
  // finds it), recorded with the hunt and every trial; "" when unknown.
  std::string commit;
  // stop_grace is how long Bazel gets to stop after SIGINT before SIGKILL.
  absl::Duration stop_grace = absl::Seconds(30);
  // poll_interval is how often the BEP file is read while Bazel runs.
  absl::Duration poll_interval = absl::Milliseconds(100);
  // batch_trials / batch_interval bound how long trials wait in memory
  // before one store transaction writes them.
  int batch_trials = 500;
  // max_log_bytes caps how much of each run's test.log is read and kept
  // (its head and tail; results::ReadLogCapped).
  int64_t max_log_bytes = results::kDefaultMaxLogBytes;
  // direct runs the test binaries itself after Bazel built them, a fresh
  // process per run, `jobs` at once (0: one per CPU), instead of `bazel
  // test` (runner/direct.h). A target that cannot run directly makes the
  // hunt say why and fall back to Bazel.
  bool direct = false;
  int jobs = 0;
  absl::Duration batch_interval = absl::Seconds(2);
  // decide (for until_decided) says whether `profile` is settled, given
  // every row the hunt stored so far under all its profiles (the family
  // its verdicts are corrected over: stats::ProfileSettled); unset means
  // until_decided cannot be used.
  std::function<absl::StatusOr<bool>(const std::vector<results::CaseSummary>& rows,
                                     const std::string& profile)>
      decide;
};

// HuntEnvironment is what the hunt talks to. All pointers are required
// and must outlive RunHunt.
struct HuntEnvironment {
  Launcher* launcher = nullptr;
  Clock* clock = nullptr;
  std::ostream* out = nullptr;  // progress and messages
  bool tty = false;             // `out` is a terminal
  // stop is set (by a signal handler) to end the hunt early: Bazel is
  // stopped, completed trials are stored, the hunt is marked interrupted.
  const std::atomic<bool>* stop = nullptr;
  // hurry, when given and set (a second signal), cuts Bazel's grace short:
  // it is killed at once; completed trials are still stored.
  const std::atomic<bool>* hurry = nullptr;
  // sinks receive every trial as soon as its run is read (the trial
  // stream, results/trial_sink.h), after the store writer and before the
  // progress line; optional. An error of one ends the hunt.
  std::vector<results::TrialSink*> sinks = {};
};

// HuntResult is how a hunt ended and what it found.
struct HuntResult {
  std::string hunt_id;
  results::HuntStatus status = results::HuntStatus::kDone;  // or kInterrupted
  results::HuntMode mode = results::HuntMode::kBazelRuns;
  std::vector<std::string> targets;  // the tests hunted
  std::string wrapper;               // the wrapper label used ("" none)
  std::string commit;                // HuntOptions::commit
  std::string store_path;
  std::string work_dir;  // BEP files and Bazel logs of each round
  int64_t runs = 0;
  int64_t failed_runs = 0;
  int64_t trials = 0;
  absl::Duration elapsed = absl::ZeroDuration();
  std::vector<results::CaseSummary> summaries;  // from the store
  // With auto_search: the arms' standing (ArmSearch::Describe) and the
  // winner (nullopt when every arm was skipped or the hunt was cut short).
  std::string auto_summary;
  std::optional<std::string> auto_winner;
};

// RunHunt runs a hunt (see the file comment). Errors, each one line that
// says what to do: NotFound (bazel not on PATH), FailedPrecondition (not a
// workspace; the wrapper is missing; a profile the wrapper cannot apply;
// Bazel failed; a run's test.log or test.xml left in a remote cache),
// InvalidArgument (bad profiles, targets that do not exist or are not
// tests, bad counts), Unavailable (store or files; remote execution that
// Bazel could not use, exit code 34: an executor that is down). A hunt that
// fails after it began is marked "failed: <reason>" in the store; an
// interrupted one returns status kInterrupted with what was stored.
absl::StatusOr<HuntResult> RunHunt(const HuntOptions& options,
                                   const HuntEnvironment& env);

}  // namespace flaky::runner

#endif  // FLAKY_RUNNER_HUNT_H_
