#include "flaky/merge_gate/merge_gate.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "flaky/stats/verdict.h"
#include "nlohmann/json.hpp"

namespace flaky::merge_gate {
namespace {

// The reports the gate writes; stale copies from an earlier run are removed
// first so a gate that fails early cannot leave an old verdict behind.
constexpr const char* kGateReports[] = {"report.md", "report.json",
                                        "report.junit.xml"};
// More changed files than this are summarised in report.md.
constexpr size_t kMaxListedFiles = 50;

// ExitMeaning names what `flaky gate` meant by `code` (stats::GateExitCode).
std::string ExitMeaning(int code) {
  switch (code) {
    case stats::kGateExitClean:
      return std::string(stats::VerdictName(stats::Verdict::kClean));
    case stats::kGateExitFlaky:
      return std::string(stats::VerdictName(stats::Verdict::kFlaky));
    case stats::kGateExitInconclusive:
      return std::string(stats::VerdictName(stats::Verdict::kInconclusive));
    case stats::kGateExitUsage:
      return "usage or environment error";
  }
  return "unexpected";
}

absl::Status Validate(const MergeGateOptions& options) {
  if (options.flaky_command.empty()) {
    return absl::InvalidArgumentError(
        "no command to run flaky: pass --flaky=PATH (or leave it unset to use "
        "`bazel run @flaky//flaky:flaky --`)");
  }
  if (options.runs.has_value() && options.budget.has_value()) {
    return absl::InvalidArgumentError(
        "--runs and --budget are exclusive: give a number of runs or a time "
        "budget");
  }
  if (options.runs.has_value() && *options.runs <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--runs=", *options.runs, " must be at least 1"));
  }
  if (options.budget.has_value() && *options.budget < absl::Seconds(1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--budget=", absl::FormatDuration(*options.budget),
                     " must be at least 1s"));
  }
  for (const auto& [name, value] :
       {std::pair{"max_rate", options.max_rate},
        std::pair{"confidence", options.confidence}}) {
    if (value.has_value() && !(*value > 0 && *value < 1)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--", name, "=", *value, " must be between 0 and 1 (exclusive)"));
    }
  }
  return absl::OkStatus();
}

std::filesystem::path ReportDir(const MergeGateOptions& options) {
  std::filesystem::path dir(options.report_dir);
  return dir.is_absolute() ? dir
                           : std::filesystem::path(
                                 options.affected.workspace_dir) / dir;
}

absl::Status WriteText(const std::filesystem::path& path,
                       const std::string& text, bool append) {
  std::ofstream out(path, append ? std::ios::app : std::ios::trunc);
  out << text;
  out.close();
  if (!out) {
    return absl::UnavailableError(absl::StrCat(
        "cannot write ", path.string(), ": check that the report directory is "
        "writable"));
  }
  return absl::OkStatus();
}

std::string Short(const std::string& commit) { return commit.substr(0, 12); }

// The markdown that says what was selected and why, for a reviewer who
// wonders why a test was (or was not) run.
std::string SelectionMarkdown(const MergeGateOptions& options,
                              const AffectedTests& affected) {
  std::string text = absl::StrCat(
      "## Test selection\n\n", affected.changed_files.size(),
      " changed file(s) since `", options.affected.base_revision,
      "` (merge base `", Short(affected.merge_base), "`); ");
  if (!affected.all_tests_because.empty()) {
    absl::StrAppend(&text, "`", affected.all_tests_because,
                    "` changed, so every test was selected (",
                    affected.targets.size(), ").\n");
  } else {
    absl::StrAppend(&text, affected.targets.size(),
                    " test(s) depend on them.\n");
  }
  if (!affected.targets.empty()) {
    absl::StrAppend(&text, "\n<details><summary>Selected tests</summary>\n\n");
    for (const std::string& target : affected.targets) {
      absl::StrAppend(&text, "- `", target, "`\n");
    }
    absl::StrAppend(&text, "\n</details>\n");
  }
  absl::StrAppend(&text, "\n<details><summary>Changed files</summary>\n\n");
  for (size_t i = 0; i < affected.changed_files.size(); ++i) {
    if (i == kMaxListedFiles) {
      absl::StrAppend(&text, "- ... and ",
                      affected.changed_files.size() - kMaxListedFiles,
                      " more (merge_gate.json lists all)\n");
      break;
    }
    absl::StrAppend(&text, "- `", affected.changed_files[i], "`\n");
  }
  absl::StrAppend(&text, "\n</details>\n");
  return text;
}

std::string SelectionJson(const MergeGateOptions& options,
                          const AffectedTests& affected,
                          const std::vector<std::string>& gate_command,
                          std::optional<int> gate_exit_code) {
  nlohmann::json json = {
      {"schema_version", 1},
      {"base_revision", options.affected.base_revision},
      {"merge_base", affected.merge_base},
      {"include_uncommitted", options.affected.include_uncommitted},
      {"changed_files", affected.changed_files},
      {"all_tests_because", affected.all_tests_because},
      {"query_roots", affected.query_roots},
      {"targets", affected.targets},
      {"gate_command", gate_command},
  };
  json["gate_exit_code"] =
      gate_exit_code.has_value() ? nlohmann::json(*gate_exit_code)
                                 : nlohmann::json(nullptr);
  return json.dump(2) + "\n";
}

}  // namespace

std::vector<std::string> GateCommand(const MergeGateOptions& options,
                                     const std::vector<std::string>& targets) {
  std::vector<std::string> argv = options.flaky_command;
  argv.push_back("gate");
  argv.insert(argv.end(), targets.begin(), targets.end());
  if (!options.profiles.empty()) {
    argv.push_back(absl::StrCat("--profiles=", options.profiles));
  }
  if (options.max_rate.has_value()) {
    argv.push_back(absl::StrCat("--max_rate=", *options.max_rate));
  }
  if (options.confidence.has_value()) {
    argv.push_back(absl::StrCat("--confidence=", *options.confidence));
  }
  if (options.runs.has_value()) {
    argv.push_back(absl::StrCat("--runs=", *options.runs));
  }
  if (options.budget.has_value()) {
    argv.push_back(absl::StrCat(
        "--budget=", absl::ToInt64Seconds(*options.budget), "s"));
  }
  if (!options.report_dir.empty()) {
    argv.push_back(absl::StrCat("--report_dir=", ReportDir(options).string()));
  }
  if (!options.store.empty()) {
    argv.push_back(absl::StrCat("--store=", options.store));
  }
  if (!options.pushgateway.empty()) {
    argv.push_back(absl::StrCat("--pushgateway=", options.pushgateway));
  }
  if (!options.bazel_test_flags.empty()) {
    argv.push_back("--");
    argv.insert(argv.end(), options.bazel_test_flags.begin(),
                options.bazel_test_flags.end());
  }
  return argv;
}

absl::StatusOr<int> RunMergeGate(const MergeGateOptions& options,
                                 Launcher& launcher, std::ostream& log) {
  FLAKY_RETURN_IF_ERROR(Validate(options));
  if (options.list_only) {
    FLAKY_ASSIGN_OR_RETURN(AffectedTests affected,
                           FindAffectedTests(options.affected, launcher));
    for (const std::string& target : affected.targets) log << target << "\n";
    return 0;
  }
  std::filesystem::path report_dir;
  if (!options.report_dir.empty()) {
    report_dir = ReportDir(options);
    std::error_code error;
    std::filesystem::create_directories(report_dir, error);
    if (error) {
      return absl::UnavailableError(
          absl::StrCat("cannot create report directory ", report_dir.string(),
                       ": ", error.message()));
    }
    for (const char* name : kGateReports) {
      std::filesystem::remove(report_dir / name, error);
    }
  }

  FLAKY_ASSIGN_OR_RETURN(AffectedTests affected,
                         FindAffectedTests(options.affected, launcher));
  log << "merge gate: " << affected.changed_files.size()
      << " changed file(s) since " << options.affected.base_revision
      << " (merge base " << Short(affected.merge_base) << ")\n";
  if (!affected.all_tests_because.empty()) {
    log << "merge gate: " << affected.all_tests_because
        << " changed, so every test is selected\n";
  }

  if (affected.targets.empty()) {
    log << "merge gate: no affected tests: nothing to gate, passing\n";
    if (!report_dir.empty()) {
      FLAKY_RETURN_IF_ERROR(WriteText(
          report_dir / "report.md",
          absl::StrCat("# flaky merge gate: PASS (no affected tests)\n\n"
                       "No test target depends on the files this change "
                       "touches, so there is nothing to gate.\n\n",
                       SelectionMarkdown(options, affected)),
          /*append=*/false));
      // An empty, valid JUnit report keeps CI test-report steps green.
      FLAKY_RETURN_IF_ERROR(WriteText(
          report_dir / "report.junit.xml",
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<testsuites name=\"flaky merge gate\" tests=\"0\" failures=\"0\">"
          "</testsuites>\n",
          /*append=*/false));
      FLAKY_RETURN_IF_ERROR(WriteText(
          report_dir / "merge_gate.json",
          SelectionJson(options, affected, {}, std::nullopt), false));
    }
    return 0;
  }

  log << "merge gate: " << affected.targets.size() << " affected test(s): "
      << absl::StrJoin(affected.targets, " ") << "\n";
  if (!options.prepare_command.empty()) {
    Command prepare;
    prepare.argv = options.prepare_command;
    prepare.working_dir = options.affected.workspace_dir;
    prepare.capture_output = false;
    FLAKY_ASSIGN_OR_RETURN(ProcessResult prepared, launcher.Run(prepare));
    if (prepared.exit_code != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "`", absl::StrJoin(prepare.argv, " "), "` failed (exit ",
          prepared.exit_code, "): fix the build of flaky shown above"));
    }
  }

  Command gate;
  gate.argv = GateCommand(options, affected.targets);
  gate.working_dir = options.affected.workspace_dir;
  gate.capture_output = false;
  // The selection is known now; record it in case the gate never returns.
  if (!report_dir.empty()) {
    FLAKY_RETURN_IF_ERROR(WriteText(
        report_dir / "merge_gate.json",
        SelectionJson(options, affected, gate.argv, std::nullopt), false));
  }
  log << "merge gate: running " << absl::StrJoin(gate.argv, " ") << "\n";
  log.flush();
  FLAKY_ASSIGN_OR_RETURN(ProcessResult gated, launcher.Run(gate));
  if (gated.exit_code < 0 || gated.exit_code > 3) {
    return absl::UnavailableError(absl::StrCat(
        "flaky gate ended with exit code ", gated.exit_code,
        ", not a verdict (0-3): it crashed or was killed; see its output "
        "above"));
  }
  // A verdict comes with a report. Without one the exit code is not a
  // verdict: absl's flag parser, for one, exits 1 on an unknown flag.
  if (!report_dir.empty() && gated.exit_code != 3 &&
      !std::filesystem::exists(report_dir / "report.md")) {
    return absl::UnavailableError(absl::StrCat(
        "flaky gate exited ", gated.exit_code, " (",
        ExitMeaning(gated.exit_code), ") but wrote no ",
        (report_dir / "report.md").string(),
        ", so that is not a verdict: see its output above"));
  }
  log << "merge gate: flaky gate exited " << gated.exit_code << " ("
      << ExitMeaning(gated.exit_code) << ")\n";
  if (!report_dir.empty()) {
    if (std::filesystem::exists(report_dir / "report.md")) {
      FLAKY_RETURN_IF_ERROR(WriteText(report_dir / "report.md",
                                      "\n" + SelectionMarkdown(options, affected),
                                      /*append=*/true));
    }
    FLAKY_RETURN_IF_ERROR(WriteText(
        report_dir / "merge_gate.json",
        SelectionJson(options, affected, gate.argv, gated.exit_code), false));
  }
  return gated.exit_code;
}

}  // namespace flaky::merge_gate
