// The Bazel command lines of a hunt, built as data so they can be tested
// without running Bazel: target validation (`bazel query`), the one build,
// and one `bazel test` per profile and round.
//
//   BazelSetup setup{.bazel = "/usr/bin/bazel", .extra_flags = {"-c", "opt"}};
//   TestInvocation round{.targets = {"//t:flaky_test"}, .profile = "cgroup:20",
//                        .runs = 100, .wrapper = "//flaky/starve:starve",
//                        .bep_path = "/tmp/h/round1.json"};
//   std::vector<std::string> argv = TestCommand(setup, round);
//   // bazel test --runs_per_test=100
//   //   --run_under=//flaky/starve:starve --profile=cgroup:20 --record_file=/dev/null --
//   //   --strategy=TestRunner=processwrapper-sandbox ... -c opt -- //t:flaky_test
#ifndef FLAKY_RUNNER_BAZEL_COMMAND_H_
#define FLAKY_RUNNER_BAZEL_COMMAND_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace flaky::runner {

// BazelSetup is what every Bazel command of a hunt shares.
struct BazelSetup {
  std::string bazel = "bazel";                    // program
  std::vector<std::string> startup_flags = {};   // before the command
  // extra_flags are the user's flags after `--`, given to build and test
  // (not query: they may be test-only flags query rejects).
  std::vector<std::string> extra_flags = {};
};

// TestInvocation is one `bazel test` of a hunt: one profile, one round.
struct TestInvocation {
  std::vector<std::string> targets = {};  // validated test labels
  std::string profile = "none";           // canonical profile text
  int runs = 1;                           // --runs_per_test
  // wrapper is the starve wrapper's label; "" runs without a wrapper (only
  // valid for the `none` profile).
  std::string wrapper = "";
  bool allow_fallback = false;  // passed to the wrapper
  std::string cgroup_parent = "";  // passed to the wrapper when not empty
  // needs_process_wrapper selects --strategy=TestRunner=processwrapper-
  // sandbox, which cgroup profiles need (linux-sandbox mounts
  // /sys/fs/cgroup read-only).
  bool needs_process_wrapper = false;
  // run_offset > 0 is passed to the wrapper as --run_offset: the runs of
  // earlier rounds, so chaos seeds do not repeat from round to round.
  int64_t run_offset = 0;
  int repeat = 1;  // > 1 adds --test_arg=--gtest_repeat=N
  std::string bep_path = "";  // --build_event_json_file
};

// WrapperFlags are the starve wrapper's flags for `invocation`, ending
// with "--" (the test's command line follows): --profile, then
// --allow_fallback, --run_offset and --cgroup_parent when they apply.
std::vector<std::string> WrapperFlags(const TestInvocation& invocation);

// QueryXmlCommand is `bazel query --output=xml` of `labels` (direct runs
// read the tests' attributes from it).
std::vector<std::string> QueryXmlCommand(const BazelSetup& setup,
                                         const std::vector<std::string>& labels);

// InfoCommand is `bazel info KEY` under the hunt's Bazel flags.
std::vector<std::string> InfoCommand(const BazelSetup& setup, const std::string& key);

// QueryTestsCommand lists, with their rule kinds, the tests `targets`
// denote: explicit labels as given (so a non-test shows up with its kind),
// patterns (`//x/...`, `:all`) expanded to their tests minus those tagged
// manual, as `bazel test` would.
std::vector<std::string> QueryTestsCommand(
    const BazelSetup& setup, const std::vector<std::string>& targets);

// QueryLabelCommand asks whether `label` exists (`bazel query LABEL`).
std::vector<std::string> QueryLabelCommand(const BazelSetup& setup,
                                           const std::string& label);

// BuildCommand builds `targets` and `wrapper` (when not empty) once,
// before any run, so build errors surface before the first round.
std::vector<std::string> BuildCommand(const BazelSetup& setup,
                                      const std::vector<std::string>& targets,
                                      const std::string& wrapper);

// TestCommand is one round's `bazel test` (see TestInvocation).
std::vector<std::string> TestCommand(const BazelSetup& setup,
                                     const TestInvocation& invocation);

// IsTargetPattern is true for a target argument that may denote several
// targets (`...`, `:all`, `:*`, `:all-targets`).
bool IsTargetPattern(absl::string_view target);

// LabelKind is one line of `bazel query --output=label_kind`.
struct LabelKind {
  std::string kind;   // "cc_test rule", "test_suite rule", "source file"
  std::string label;  // "//tests/e2e:flaky_fixture_test"
};

// ParseLabelKinds parses `bazel query --output=label_kind` output.
// InvalidArgument naming the line for a line that is not "KIND LABEL".
absl::StatusOr<std::vector<LabelKind>> ParseLabelKinds(absl::string_view text);

// SelectTests checks that every explicit (non-pattern) target of `targets`
// is a test or test_suite and returns the test labels of `kinds` (sorted,
// distinct). InvalidArgument, naming the target and its kind, for a
// non-test; InvalidArgument when no test remains.
absl::StatusOr<std::vector<std::string>> SelectTests(
    const std::vector<std::string>& targets,
    const std::vector<LabelKind>& kinds);

// FirstBazelError returns the first "ERROR: " line of Bazel's stderr
// without the prefix (and without a trailing location noise), or the last
// non-empty line when there is none; "" for empty output. A line saying
// "No space left on device" wins over all of them, as "the disk is full:
// LINE": a full disk is the cause of whatever failed after it.
std::string FirstBazelError(absl::string_view stderr_text);

// CanonicalLabel turns "//a/b" into "//a/b:b" and "a:b" into "//a:b";
// other labels are returned unchanged.
std::string CanonicalLabel(absl::string_view target);

}  // namespace flaky::runner

#endif  // FLAKY_RUNNER_BAZEL_COMMAND_H_
