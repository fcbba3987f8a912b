// Turning one Bazel test run into trials: the BEP testResult event, the
// run's test.xml (or, under in-process repetition or when there is no
// usable XML, its test.log) and the starve wrapper's record in test.log
// become one Trial per test case (per iteration).
//
//   RunContext context{.hunt_id = "h1", .profile = "hogs:2",
//                      .commit = "3f2a...", .host = "ci-7"};
//   RunFiles files = ReadRunFiles(bep_result);  // reads test.xml, test.log
//   std::vector<Trial> trials = AssembleTrials(bep_result, files, context);
//
// Nothing is dropped: a run whose results cannot be read becomes an `error`
// trial for the whole target (test_case "") whose message says why.
#ifndef FLAKY_RUNNER_RUN_TRIALS_H_
#define FLAKY_RUNNER_RUN_TRIALS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "flaky/results/bep.h"
#include "flaky/results/log_keeper.h"
#include "flaky/results/trial.h"

namespace flaky::runner {

// RunContext is what every trial of a hunt's profile shares.
struct RunContext {
  std::string hunt_id;
  std::string profile;
  std::string commit;
  // host is the machine that hunts: a trial's host unless the wrapper's
  // record names the one the run ran on (a remote worker).
  std::string host;
  // in_process_repeat: the test ran with --gtest_repeat, so results come
  // from test.log (test.xml only holds the last iteration).
  bool in_process_repeat = false;
};

// RunFiles are the run's outputs as read from disk: the text, or why it
// could not be read.
struct RunFiles {
  absl::StatusOr<std::string> test_xml = std::string();
  absl::StatusOr<std::string> test_log = std::string();
};

// TrialShard is the shard the trials of `run` record: the BEP counts
// shards from 1 (1 when unsharded), a trial's shard is the 0-based
// TEST_SHARD_INDEX (0 when unsharded).
int TrialShard(const results::BepTestResult& run);

// ReadRunFiles reads the test.xml and test.log `run` points at, the log
// capped at `max_log_bytes` (results::ReadLogCapped: its head and tail). A
// missing path or file becomes a NotFound status in the field (never an
// error of the call).
RunFiles ReadRunFiles(const results::BepTestResult& run,
                      int64_t max_log_bytes = results::kDefaultMaxLogBytes);

// AssembleTrials returns the trials of one run, in the run's order:
// - one per <testcase> of test.xml (outcome, duration, failure message),
//   plus a whole-target `crashed` trial when Bazel says the run failed but
//   every case passed (the process died after its tests);
// - from test.log's gtest lines when the XML is Bazel's fallback (the test
//   wrote none: killed, crashed, timed out) or under in-process repetition,
//   so the case that was running gets `timeout`/`crashed`;
// - one whole-target trial otherwise: the BEP status's outcome, or `error`
//   naming the reason when test.xml is missing or malformed.
// Every trial carries the context, the run's identity, the test.log path,
// the wrapper's record (applied JSON, chaos seed, and the host the run ran
// on, which replaces the context's) and, when it failed, a failure
// signature. Deterministic; does no I/O.
std::vector<results::Trial> AssembleTrials(const results::BepTestResult& run,
                                           const RunFiles& files,
                                           const RunContext& context);

// OutputsLeftRemote returns why `run`'s test.log or test.xml is not on
// this machine although the run happened, or nullopt when they are (or the
// run never ran): Bazel named one by a non-file URI (bytestream://, left
// in the remote cache), or the run executed remotely and Bazel reported no
// test.xml (what --remote_download_minimal does to a passing run). Either
// way the run's results cannot be read, and guessing would report a
// failure that never happened.
std::optional<std::string> OutputsLeftRemote(const results::BepTestResult& run);

// RunReading is what one testResult event of the BEP amounts to.
struct RunReading {
  enum class Kind {
    kTrials,       // the run happened: `trials` are its trials
    kNotRun,       // Bazel never ran it (cancelled, or its target failed
                   // to build: an event without status or outputs)
    kLeftRemote,   // its outputs stayed in a remote cache (`reason`)
    kStarveError,  // the wrapper could not apply the profile and ran
                   // nothing (`reason`: its message)
  };
  Kind kind = Kind::kTrials;
  std::string reason;
  std::vector<results::Trial> trials;
};

// ReadRun tells what `run` amounts to, reading its files (ReadRunFiles,
// the log capped at `max_log_bytes`) only when they are on this machine:
// its trials (AssembleTrials), or why it has none. Only kTrials runs are
// evidence: a run that never ran or whose results cannot be read here is
// not a failure, and neither is one whose profile could not be applied.
// The one definition for the live hunt and for runs recovered after it
// died (recovery.h).
RunReading ReadRun(const results::BepTestResult& run, const RunContext& context,
                   int64_t max_log_bytes = results::kDefaultMaxLogBytes);

// FindStarveError returns the message of the starve wrapper's
// "flaky-starve: error: ..." line in `test_log` (the wrapper could not
// apply the profile and exited 125 without running the test), or nullopt.
std::optional<std::string> FindStarveError(absl::string_view test_log);

}  // namespace flaky::runner

#endif  // FLAKY_RUNNER_RUN_TRIALS_H_
