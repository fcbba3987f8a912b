// Selects the test targets a change can affect, so a merge gate reruns only
// those: the files changed since the merge base of a base revision (git),
// mapped to Bazel labels, then every test that depends on them (bazel query).
//
//   SubprocessLauncher launcher;
//   AffectedOptions options;
//   options.workspace_dir = "/src/ws";
//   options.base_revision = "origin/main";
//   FLAKY_ASSIGN_OR_RETURN(AffectedTests affected,
//                          FindAffectedTests(options, launcher));
//   // affected.targets == {"//app:server_test", "//lib:lib_test"}
//
// Rules, in order:
// - A change to WORKSPACE, WORKSPACE.bazel, MODULE.bazel, .bazelrc,
//   .bazelversion, .bazelignore (at the workspace root), anything under
//   third_party/ or any .bzl file selects every test: they can change how
//   every target builds, and tracing that is not worth a wrong answer.
// - A changed BUILD or BUILD.bazel file selects every test that depends on
//   any target of its package (`rdeps(//..., //pkg:*)`).
// - A changed file that exists is mapped to `//pkg:path/in/pkg` (pkg is the
//   nearest directory with a BUILD file); files that no target declares
//   (docs, a README) select nothing.
// - A deleted file selects the tests depending on its nearest package's
//   targets, because a glob may have included it without a BUILD change.
// - Tests tagged "manual" are left out unless asked for, like `bazel test`.
// Uncommitted changes (staged, unstaged and untracked, not ignored) count by
// default: Bazel builds the working tree, so that is what a local gate run
// tests; a CI checkout has none.
#ifndef FLAKY_MERGE_GATE_AFFECTED_H_
#define FLAKY_MERGE_GATE_AFFECTED_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "flaky/merge_gate/launcher.h"

namespace flaky::merge_gate {

// AffectedOptions says which workspace, which base and which tools.
struct AffectedOptions {
  // The Bazel workspace root (the directory holding WORKSPACE). It must be
  // inside a git work tree; it need not be the git root.
  std::string workspace_dir;
  // Any git revision: a branch (origin/main), a tag or a commit. Changes are
  // taken from the merge base of it and HEAD, like `git diff BASE...HEAD`.
  std::string base_revision;
  // Count staged, unstaged and untracked changes of the working tree too.
  bool include_uncommitted = true;
  // Keep tests tagged "manual".
  bool include_manual = false;
  // Where dependent tests are looked for.
  std::string universe = "//...";
  std::string git = "git";
  std::string bazel = "bazel";
  // Put before the query command, e.g. {"--output_base=/ob"}.
  std::vector<std::string> bazel_startup_options;
};

// AffectedTests is the selection and why.
struct AffectedTests {
  // The commit changes are measured from.
  std::string merge_base;
  // Changed paths relative to the workspace, sorted.
  std::vector<std::string> changed_files;
  // Set when a changed file selects every test; names that file.
  std::string all_tests_because;
  // Labels of the source files and packages the query started from, sorted.
  std::vector<std::string> query_roots;
  // Test labels to gate, sorted and unique.
  std::vector<std::string> targets;
};

// FindAffectedTests runs git and bazel query (through `launcher`, with the
// workspace as working directory) and returns the selection.
// Errors: InvalidArgument for an empty base or a workspace_dir that is not a
// Bazel workspace, or a base git does not know; FailedPrecondition when the
// workspace is not in a git work tree or the base shares no history with
// HEAD (a shallow clone); Unavailable when git or bazel query fail, with
// their first error line; NotFound when git or bazel cannot be run.
absl::StatusOr<AffectedTests> FindAffectedTests(const AffectedOptions& options,
                                                Launcher& launcher);

// SelectsAllTests returns true when a change to `path` (relative to the
// workspace root) selects every test (see the rules above).
bool SelectsAllTests(const std::string& path);

// PackageOf returns the package of `path` (relative to `workspace_dir`): its
// nearest ancestor directory, within the workspace, that holds a BUILD or
// BUILD.bazel file, as "" for the root package or "a/b"; or false when no
// directory up to the root has one.
bool PackageOf(const std::string& workspace_dir, const std::string& path,
               std::string* package);

// AffectedTestsQuery returns the bazel query expression selecting the test
// rules in `universe` that depend on any of `roots` (labels or patterns),
// dropping tests tagged manual unless `include_manual`; with empty roots, all
// tests of the universe.
std::string AffectedTestsQuery(const std::vector<std::string>& roots,
                               const std::string& universe,
                               bool include_manual);

}  // namespace flaky::merge_gate

#endif  // FLAKY_MERGE_GATE_AFFECTED_H_
