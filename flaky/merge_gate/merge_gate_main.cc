// flaky's merge gate entry point until `flaky merge-gate` is a row of the
// CLI's table: selects the tests a change affects and runs `flaky gate` on
// them. Every flag has a FLAKY_<NAME> environment twin (the flag wins).
//
//   bazel run //flaky/merge_gate:merge_gate_main -- --base=origin/main --budget=300s
//   (reports in ./flaky-out; bazel test flags for the gate go after a second --)
//
// Exit codes are the gate's: 0 clean or nothing affected, 1 flaky,
// 2 inconclusive within the budget, 3 usage or environment error.
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "flaky/cli/flags.h"
#include "flaky/cli/subcommands.h"
#include "flaky/merge_gate/launcher.h"
#include "flaky/merge_gate/merge_gate.h"

ABSL_FLAG(std::string, base, "",
          "Git revision the change merges into (branch, tag or commit), e.g. "
          "origin/main. Changes are taken since its merge base with HEAD.");
ABSL_FLAG(std::string, workspace, "",
          "Bazel workspace root; default: the workspace `bazel run` was "
          "invoked in, else the current directory.");
ABSL_FLAG(bool, committed_only, false,
          "Ignore uncommitted and untracked changes of the working tree.");
ABSL_FLAG(bool, include_manual, false, "Also gate tests tagged manual.");
ABSL_FLAG(std::string, universe, "//...",
          "Target pattern in which dependent tests are looked for.");
ABSL_FLAG(std::string, bazel, "bazel", "The bazel to run.");
ABSL_FLAG(std::vector<std::string>, bazel_startup_options, {},
          "Comma-separated Bazel startup options for every bazel command, "
          "e.g. --output_base=/ob.");
ABSL_FLAG(std::string, flaky, "",
          "Command that runs flaky (split at spaces); default: `bazel run "
          "@flaky//flaky:flaky --`, built first.");
ABSL_FLAG(std::string, profiles, "",
          "Starvation profiles for the gate, e.g. none,cgroup:20; default: "
          "the gate's.");
ABSL_FLAG(std::optional<double>, max_rate, std::nullopt,
          "Highest flake rate a CLEAN test may have; default: the gate's.");
ABSL_FLAG(std::optional<double>, confidence, std::nullopt,
          "Confidence of the verdict; default: the gate's.");
ABSL_FLAG(std::optional<int64_t>, runs, std::nullopt,
          "Runs per test (exclusive with --budget); default: the gate's.");
ABSL_FLAG(std::optional<absl::Duration>, budget, std::nullopt,
          "Time budget, e.g. 300s (exclusive with --runs); default: the "
          "gate's.");
ABSL_FLAG(std::string, report_dir, "flaky-out",
          "Where report.md, report.json, report.junit.xml and "
          "merge_gate.json go.");
ABSL_FLAG(std::string, store, "", "Trials database; default: the gate's.");
ABSL_FLAG(std::string, pushgateway, "",
          "Prometheus Pushgateway URL to push metrics to; none when empty.");
ABSL_FLAG(bool, list, false,
          "Only print the affected test labels, one per line; run nothing.");

namespace {

constexpr int kUsageError = 3;

// Where the user was when they ran us: `bazel run` starts binaries in their
// runfiles, and says where it was invoked.
std::filesystem::path UserDirectory() {
  const char* dir = getenv("BUILD_WORKING_DIRECTORY");
  return dir != nullptr && *dir != '\0' ? std::filesystem::path(dir)
                                        : std::filesystem::current_path();
}

std::string Absolute(const std::string& path) {
  if (path.empty()) return path;
  std::filesystem::path p(path);
  return (p.is_absolute() ? p : UserDirectory() / p).lexically_normal().string();
}

}  // namespace

int main(int argc, char** argv) {
  // Everything after "--" is for the gate's bazel test, not for us.
  const flaky::cli::SplitArgs split = flaky::cli::SplitAtDoubleDash(argc, argv);
  const std::vector<std::string>& bazel_test_flags = split.passthrough;
  // Every flag of this file has a FLAKY_<NAME> twin; the command line wins.
  // A bad flag or twin is a usage error (3), never absl's exit 1 (FLAKY).
  const std::vector<std::string> known =
      flaky::cli::FlagsDefinedIn("flaky/merge_gate/merge_gate_main.cc");
  const absl::Status env = flaky::cli::ApplyEnvironmentTwins(known, getenv);
  const flaky::cli::ParsedFlags parsed = flaky::cli::ParseFlags(split.ours, known);
  if (parsed.help) {
    std::cout << "Runs `flaky gate` on the tests affected by the change since "
                 "--base.\nUsage: merge_gate_main --base=REV [flags] [-- extra "
                 "bazel test flags]\nExit: 0 clean or nothing affected, 1 "
                 "flaky, 2 inconclusive, 3 error.\n\nFlags (each has a "
                 "FLAKY_<FLAG> environment twin):\n"
              << flaky::cli::FlagsHelp(known) << std::flush;
    return 0;
  }
  const absl::Status usage = !env.ok() ? env : parsed.status;
  if (!usage.ok()) {
    std::cerr << "merge gate: error: " << usage.message() << "\n";
    return kUsageError;
  }
  if (!parsed.positional.empty()) {
    std::cerr << "merge gate: error: unexpected argument '" << parsed.positional[0]
              << "': the tests come from the change; put bazel test flags "
                 "after --\n";
    return kUsageError;
  }

  flaky::merge_gate::MergeGateOptions options;
  flaky::merge_gate::AffectedOptions& affected = options.affected;
  affected.base_revision = absl::GetFlag(FLAGS_base);
  affected.workspace_dir = absl::GetFlag(FLAGS_workspace);
  if (affected.workspace_dir.empty()) {
    const char* workspace = getenv("BUILD_WORKSPACE_DIRECTORY");
    affected.workspace_dir = workspace != nullptr && *workspace != '\0'
                                 ? workspace
                                 : std::filesystem::current_path().string();
  }
  affected.workspace_dir = Absolute(affected.workspace_dir);
  affected.include_uncommitted = !absl::GetFlag(FLAGS_committed_only);
  affected.include_manual = absl::GetFlag(FLAGS_include_manual);
  affected.universe = absl::GetFlag(FLAGS_universe);
  affected.bazel = absl::GetFlag(FLAGS_bazel);
  affected.bazel_startup_options = absl::GetFlag(FLAGS_bazel_startup_options);

  std::string flaky = absl::GetFlag(FLAGS_flaky);
  if (flaky.empty()) {
    std::vector<std::string> bazel = {affected.bazel};
    bazel.insert(bazel.end(), affected.bazel_startup_options.begin(),
                 affected.bazel_startup_options.end());
    options.prepare_command = bazel;
    options.prepare_command.insert(options.prepare_command.end(),
                                   {"build", "@flaky//flaky:flaky"});
    options.flaky_command = bazel;
    options.flaky_command.insert(options.flaky_command.end(),
                                 {"run", "@flaky//flaky:flaky", "--"});
  } else {
    options.flaky_command = absl::StrSplit(flaky, ' ', absl::SkipEmpty());
  }
  options.profiles = absl::GetFlag(FLAGS_profiles);
  options.max_rate = absl::GetFlag(FLAGS_max_rate);
  options.confidence = absl::GetFlag(FLAGS_confidence);
  options.runs = absl::GetFlag(FLAGS_runs);
  options.budget = absl::GetFlag(FLAGS_budget);
  options.report_dir = Absolute(absl::GetFlag(FLAGS_report_dir));
  options.store = Absolute(absl::GetFlag(FLAGS_store));
  options.pushgateway = absl::GetFlag(FLAGS_pushgateway);
  options.bazel_test_flags = bazel_test_flags;
  options.list_only = absl::GetFlag(FLAGS_list);

  flaky::merge_gate::SubprocessLauncher launcher;
  absl::StatusOr<int> exit_code =
      flaky::merge_gate::RunMergeGate(options, launcher, std::cout);
  if (!exit_code.ok()) {
    std::cerr << "merge gate: error: " << exit_code.status().message() << "\n";
    return kUsageError;
  }
  return *exit_code;
}
