// A scripted Bazel for tests of code that runs hunts (the runner, the
// `flaky` commands): a Launcher that answers `bazel query` and `bazel
// build` at once and plays `bazel test` by writing BEP lines, test.xml and
// test.log files as Bazel would, one run per Poll, on a manual clock; `git
// rev-parse HEAD` answers "abc123".
//
//   ManualClock clock(absl::FromUnixSeconds(1795801329));
//   FakeBazel bazel(clock, "/tmp/test/bazel");       // run files go there
//   bazel.fails = [](int run) { return run % 2 == 0; };
//   RunHunt(options, {.launcher = &bazel, .clock = &clock, ...});
//   bazel.TestCommands();  // the `bazel test` command lines it was given
#ifndef FLAKY_RUNNER_TESTING_FAKE_BAZEL_H_
#define FLAKY_RUNNER_TESTING_FAKE_BAZEL_H_

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "flaky/runner/clock.h"
#include "flaky/runner/launcher.h"

namespace flaky::runner::testing {

// FakeBazel is the scripted Bazel (see the file comment). Its public
// fields script it; set them before the hunt starts. Not thread-safe.
class FakeBazel : public Launcher {
 public:
  FakeBazel(ManualClock& clock, std::string dir)
      : clock(clock), dir(std::move(dir)) {}

  // Start plays `bazel build` (done at once) and `bazel test` (a process
  // whose every Poll completes one run of every target after `--`).
  absl::StatusOr<std::unique_ptr<Process>> Start(const Command& command) override;

  // Run answers `git rev-parse HEAD`, `bazel query --output=label_kind`
  // (query_output) and `bazel query LABEL` (exit 0 for `labels`).
  absl::StatusOr<CommandResult> Run(const Command& command) override;

  // TestCommands returns the `bazel test` command lines, in order.
  std::vector<std::string> TestCommands() const;

  ManualClock& clock;
  std::string dir;
  std::vector<std::vector<std::string>> commands;
  std::set<std::string> labels = {"//flaky/starve:starve"};
  std::string query_output = "cc_test rule //t:a_test\n";
  int query_exit = 0;
  std::string query_stderr;
  std::string bazel_error;  // non-empty: `bazel test` fails at once
  int bazel_exit = 1;       // ... with this exit code
  // From this run on, test.xml is named by a bytestream:// URI, as Bazel
  // does for outputs it leaves in a remote cache.
  int remote_xml_from_run = -1;
  std::string strategy;  // non-empty: the BEP's executionInfo.strategy
  std::function<bool(int run)> fails = [](int) { return false; };
  // When set, decides instead of `fails`, knowing the run's profile.
  std::function<bool(const std::string& profile, int run)> fails_under;
  // When set, decides instead of both, knowing the run's target.
  std::function<bool(const std::string& target, const std::string& profile, int run)>
      fails_for;
  // Profiles whose wrapper reports that they cannot be applied.
  std::set<std::string> unappliable;
  // (target, profile) pairs whose wrapper reports so, for that target only
  // (chaos on a statically linked test binary).
  std::set<std::pair<std::string, std::string>> unappliable_for;
  std::function<std::string(int run)> log_extra = [](int) { return ""; };
  int repeat_iterations = 0;  // > 0: logs carry gtest_repeat output
  int garbage_after_run = -1;  // writes a malformed BEP line after it
  bool with_skipped_case = false;  // test.xml adds an always-skipped case
  // case_seconds is every test case's time in test.xml.
  double case_seconds = 0.002;
  absl::Duration per_run = absl::Seconds(1);
  // stop/stop_after_runs: set the hunt's stop flag (as SIGINT would)
  // once this many runs completed in total.
  std::atomic<bool>* stop = nullptr;
  int stop_after_runs = -1;
  int runs_completed = 0;
  int invocations = 0;
  int interrupts = 0;
};

}  // namespace flaky::runner::testing

#endif  // FLAKY_RUNNER_TESTING_FAKE_BAZEL_H_
