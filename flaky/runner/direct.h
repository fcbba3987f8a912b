// Running test binaries the way `bazel test` runs them, without Bazel in
// the loop (`flaky hunt --mode=direct`): Bazel builds once, then every run
// is a fresh process of the test binary, under the starve wrapper, with
// the environment Bazel's test encyclopedia defines, many at once. A run
// then costs what the test costs, not the ~0.3 s of CPU Bazel spends on
// scheduling, sandboxing and recording each one (BENCHMARKS.md).
//
//   FLAKY_ASSIGN_OR_RETURN(std::vector<DirectTest> tests,
//                          ParseDirectTests(query_xml, bazel_bin, "flaky"));
//   DirectRoundOptions round{.tests = tests, .runs = 50, .jobs = 2,
//                            .wrapper = {bin + "/flaky/starve/starve",
//                                        "--profile=chaos:1", "--"},
//                            .work_dir = "/ws/flaky.db.hunts/h1/round3"};
//   FLAKY_ASSIGN_OR_RETURN(bool interrupted,
//       RunDirectRound(round, launcher, clock, stop, hurry,
//                      [&](const results::BepTestResult& run) {...}));
//
// What a run gets (https://bazel.build/reference/test-encyclopedia):
// TEST_SRCDIR and RUNFILES_DIR (the binary's runfiles tree), TEST_WORKSPACE,
// the runfiles manifest, a fresh TEST_TMPDIR and HOME, XML_OUTPUT_FILE,
// TEST_UNDECLARED_OUTPUTS_DIR, TEST_PREMATURE_EXIT_FILE,
// TEST_INFRASTRUCTURE_FAILURE_FILE, TEST_WARNINGS_OUTPUT_FILE,
// TEST_RANDOM_SEED (the run number, as Bazel 4.2.3 sets it under
// --runs_per_test), TEST_TARGET, TEST_SIZE, TEST_TIMEOUT, TZ=UTC, Bazel's
// strict PATH, the target's `env` and the hunt's --test_env; its current
// directory is the workspace's runfiles; its arguments are the target's
// `args`. Its stdout and stderr go to its test.log; a test that writes no
// XML gets the one Bazel's test-setup.sh would write from its exit code.
//
// Not thread-safe; one hunt drives it.
#ifndef FLAKY_RUNNER_DIRECT_H_
#define FLAKY_RUNNER_DIRECT_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "flaky/results/bep.h"
#include "flaky/runner/clock.h"
#include "flaky/runner/launcher.h"

namespace flaky::runner {

// DirectTest is how to run one test target's binary. Plain data.
struct DirectTest {
  std::string label;           // "//pkg:name"
  // executable is the binary's path in its runfiles tree, where Bazel
  // starts it (a script finds its data next to $0), or in bazel-bin when
  // the tree has no link to it.
  std::string executable;
  std::string runfiles_dir;    // its runfiles tree: executable + ".runfiles"
  std::string workspace_name;  // the main repository's directory in it
  std::vector<std::string> args;  // the target's `args`
  std::vector<std::pair<std::string, std::string>> env;  // the target's `env`
  std::string size = "medium";
  absl::Duration timeout = absl::Seconds(300);
};

// WorkspaceName reads `workspace(name = "...")` from the WORKSPACE file of
// `workspace_dir`; "__main__" (Bazel's name for an unnamed main
// repository) when there is none.
std::string WorkspaceName(const std::string& workspace_dir);

// ParseDirectTests reads `bazel query --output=xml` of the hunted test
// labels and finds each one's binary under `bazel_bin`. Errors:
// FailedPrecondition naming the target and why it cannot run directly,
// where Bazel mode can still run it (sharded; `args` or `env` that need
// Bazel's make-variable expansion; not in the main repository);
// InvalidArgument naming the target where nothing can run it (not a
// *_test rule; its binary or its runfiles tree missing from bazel-bin
// after the build); Unknown for XML that is not a query's.
absl::StatusOr<std::vector<DirectTest>> ParseDirectTests(
    absl::string_view query_xml, absl::string_view bazel_bin,
    absl::string_view workspace_name);

// TestEnvFromFlags collects the --test_env flags among Bazel `flags`:
// `--test_env=K=V` as given, `--test_env=K` with K's value from `getenv`
// (skipped when unset), in order, later ones winning.
std::vector<std::pair<std::string, std::string>> TestEnvFromFlags(
    const std::vector<std::string>& flags,
    const std::function<const char*(const char*)>& getenv);

// DirectRunPaths are the files and directories of one run, under its
// directory.
struct DirectRunPaths {
  std::string dir;
  std::string test_log;
  std::string test_xml;
  std::string tmpdir;
  std::string undeclared_outputs;
  std::string premature_exit_file;
  std::string infrastructure_failure_file;
  std::string warnings_file;
};

// RunPaths names run `run` of `test` under `work_dir`
// ("<work_dir>/<pkg_name>/run_<run>/...").
DirectRunPaths RunPaths(const std::string& work_dir, const DirectTest& test, int run);

// DirectEnvironment is the whole environment of run `run` (file comment).
std::vector<std::string> DirectEnvironment(
    const DirectTest& test, int run, const DirectRunPaths& paths,
    const std::vector<std::pair<std::string, std::string>>& test_env);

// FallbackXml is the test.xml Bazel's test-setup.sh writes for a test that
// wrote none: one case named after the target's path, an <error> with the
// exit code when it failed. The results parser recognises it as such.
std::string FallbackXml(const DirectTest& test, int exit_code, absl::Duration duration);

// DirectRoundOptions are one round of direct runs.
struct DirectRoundOptions {
  std::vector<DirectTest> tests;
  int runs = 1;  // runs of each test, numbered 1..runs (TEST_RANDOM_SEED)
  int jobs = 1;  // processes at once
  // wrapper is the starve wrapper's argv up to and including "--" (the
  // test's command line follows); empty runs the test bare.
  std::vector<std::string> wrapper;
  std::vector<std::pair<std::string, std::string>> test_env;
  // extra_args follow the target's `args` (--test_arg, --gtest_repeat).
  std::vector<std::string> extra_args;
  std::string work_dir;  // every run's directory goes under it
  absl::Duration poll_interval = absl::Milliseconds(5);
};

// RunDirectRound runs each test `runs` times, at most `jobs` processes at
// once, and calls `on_result` with a BepTestResult (status PASSED, FAILED
// or TIMEOUT; the test.log and test.xml paths; start and duration) as each
// run ends, in the order they end. A run past its timeout is killed (its
// process group) and is a TIMEOUT. When `stop` is set the running ones are
// stopped (SIGINT, then SIGKILL after `stop_grace`, or at once when
// `hurry` is set), are not reported, and the call returns true; false when
// every run ended. An error from `on_result` stops the round and is
// returned. Errors: Unavailable when a run's directory cannot be made or
// its process not started (naming which).
absl::StatusOr<bool> RunDirectRound(
    const DirectRoundOptions& options, Launcher& launcher, Clock& clock,
    const std::atomic<bool>& stop, const std::atomic<bool>* hurry,
    absl::Duration stop_grace,
    const std::function<absl::Status(const results::BepTestResult&)>& on_result);

}  // namespace flaky::runner

#endif  // FLAKY_RUNNER_DIRECT_H_
