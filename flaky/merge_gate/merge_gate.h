// The merge gate: selects the tests a change affects (affected.h) and runs
// `flaky gate` on them, so a merge request is blocked only by flakiness in
// what it touches.
//
//   MergeGateOptions options;
//   options.affected.workspace_dir = "/src/ws";
//   options.affected.base_revision = "origin/main";
//   options.flaky_command = {"/usr/local/bin/flaky"};
//   options.report_dir = "/src/ws/flaky-out";
//   SubprocessLauncher launcher;
//   FLAKY_ASSIGN_OR_RETURN(int exit_code,
//                          RunMergeGate(options, launcher, std::cout));
//   // 0 clean (or nothing affected), 1 flaky, 2 inconclusive, 3 usage error
//
// With no affected test it says so, writes a passing report.md and returns
// 0 without running anything. Otherwise it returns the gate's exit code and
// appends how the tests were selected to the gate's report.md. Either way
// DIR/merge_gate.json records the selection.
#ifndef FLAKY_MERGE_GATE_MERGE_GATE_H_
#define FLAKY_MERGE_GATE_MERGE_GATE_H_

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "flaky/merge_gate/affected.h"
#include "flaky/merge_gate/launcher.h"

namespace flaky::merge_gate {

// MergeGateOptions are the selection's options plus the gate's; an unset
// gate option is not passed, so `flaky gate`'s own default applies.
struct MergeGateOptions {
  AffectedOptions affected;
  // The command line that runs flaky; "gate TARGETS... FLAGS" follows. For
  // example {"/usr/local/bin/flaky"} or
  // {"bazel", "run", "@flaky//flaky:flaky", "--"}.
  std::vector<std::string> flaky_command;
  // Run first when not empty, e.g. {"bazel", "build", "@flaky//flaky:flaky"}:
  // a build failure must be an error (exit 3), while `bazel run` would exit
  // 1 for it, which reads as FLAKY.
  std::vector<std::string> prepare_command;
  std::string profiles;  // --profiles, e.g. "none,cgroup:20"
  std::optional<double> max_rate;
  std::optional<double> confidence;
  std::optional<int64_t> runs;           // exclusive with budget
  std::optional<absl::Duration> budget;  // passed in whole seconds
  // Where report.md, report.json, report.junit.xml and merge_gate.json go;
  // created if missing. Absolute, or relative to the workspace.
  std::string report_dir;
  std::string store;
  std::string pushgateway;
  // Passed to the gate after "--", for its `bazel test` runs.
  std::vector<std::string> bazel_test_flags;
  // Only print the selected test labels, one per line, and return 0: what
  // the gate would run, for a look or for another tool.
  bool list_only = false;
};

// GateCommand returns the argv that runs `flaky gate` on `targets`.
std::vector<std::string> GateCommand(const MergeGateOptions& options,
                                     const std::vector<std::string>& targets);

// RunMergeGate selects the affected tests, gates them and returns the exit
// code the merge gate should exit with (the gate's, 0-3). Progress lines go
// to `log`; the gate's own output streams to this process's stdout/stderr.
// Errors: those of FindAffectedTests; InvalidArgument for inconsistent
// options (runs and budget both set, a rate or confidence outside (0, 1),
// no flaky command); FailedPrecondition when the prepare command fails;
// Unavailable when the report directory cannot be written, the gate ends
// with a code outside 0-3 (a crash or a signal), or it returns a verdict
// (0-2) without writing report.md into a set report directory.
absl::StatusOr<int> RunMergeGate(const MergeGateOptions& options,
                                 Launcher& launcher, std::ostream& log);

}  // namespace flaky::merge_gate

#endif  // FLAKY_MERGE_GATE_MERGE_GATE_H_
