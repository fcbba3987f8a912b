#include "flaky/merge_gate/merge_gate.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "base/status_matchers.h"
#include "base/test_files.h"
#include "flaky/merge_gate/scripted_launcher.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace flaky::merge_gate {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::ReadFileOrEmpty;
using ::flaky::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// A workspace with lib/lib.cc in package lib; git reports `changed` since
// the base, bazel query finds `tests` depending on it, and the gate (any
// command containing " gate ") writes a report and exits `gate_exit`.
struct Fixture {
  explicit Fixture(const std::string& name) {
    root = std::string(getenv("TEST_TMPDIR")) + "/" + name;
    std::filesystem::create_directories(root + "/lib");
    std::ofstream(root + "/WORKSPACE") << "";
    std::ofstream(root + "/lib/BUILD") << "";
    std::ofstream(root + "/lib/lib.cc") << "";
    std::ofstream(root + "/lib/README.md") << "";
    options.affected.workspace_dir = root;
    options.affected.base_revision = "origin/main";
    options.flaky_command = {"/opt/flaky"};
    options.report_dir = "flaky-out";
  }

  ScriptedLauncher::Handler Handler() {
    return [this](const std::string& args, const std::string& query) {
      if (args == "git rev-parse --is-inside-work-tree") return Exit(0, "true\n");
      if (absl::StartsWith(args, "git rev-parse --verify")) {
        return Exit(0, "1111111111111111111111111111111111111111\n");
      }
      if (absl::StartsWith(args, "git merge-base")) {
        return Exit(0, "2222222222222222222222222222222222222222\n");
      }
      if (absl::StartsWith(args, "git diff")) return Exit(0, changed + '\0');
      if (absl::StartsWith(args, "git ls-files")) return Exit(0, "");
      if (absl::StartsWith(args, "bazel query")) {
        return Exit(0, absl::StartsWith(query, "set(") ? "//lib:lib.cc\n" : tests);
      }
      if (args == "bazel build @flaky//flaky:flaky") return Exit(prepare_exit);
      if (absl::StartsWith(args, "/opt/flaky gate ")) {
        if (gate_writes_report) {
          std::ofstream(root + "/flaky-out/report.md") << "# flaky gate: FLAKY\n";
        }
        return Exit(gate_exit);
      }
      return Exit(99, "", "unexpected command: " + args);
    };
  }

  std::string root;
  MergeGateOptions options;
  std::string changed = "lib/lib.cc";
  std::string tests = "//app:app_test\n";
  int gate_exit = 1;
  int prepare_exit = 0;
  bool gate_writes_report = true;
};

TEST(GateCommand, PassesOnlyTheOptionsThatAreSet) {
  MergeGateOptions options;
  options.affected.workspace_dir = "/ws";
  options.flaky_command = {"bazel", "run", "@flaky//flaky:flaky", "--"};
  EXPECT_THAT(GateCommand(options, {"//a:a_test"}),
              ElementsAre("bazel", "run", "@flaky//flaky:flaky", "--", "gate",
                          "//a:a_test"));

  options.profiles = "none,cgroup:20";
  options.max_rate = 0.001;
  options.confidence = 0.95;
  options.budget = absl::Minutes(2);
  options.report_dir = "out";
  options.store = "/tmp/flaky.db";
  options.pushgateway = "http://127.0.0.1:9091";
  options.bazel_test_flags = {"--config=remote"};
  EXPECT_THAT(
      GateCommand(options, {"//a:a_test", "//b:b_test"}),
      ElementsAre("bazel", "run", "@flaky//flaky:flaky", "--", "gate",
                  "//a:a_test", "//b:b_test", "--profiles=none,cgroup:20",
                  "--max_rate=0.001", "--confidence=0.95", "--budget=120s",
                  "--report_dir=/ws/out", "--store=/tmp/flaky.db",
                  "--pushgateway=http://127.0.0.1:9091", "--",
                  "--config=remote"));

  options.budget.reset();
  options.runs = 300;
  EXPECT_THAT(GateCommand(options, {"//a:a_test"}),
              ::testing::Contains("--runs=300"));
}

TEST(RunMergeGate, NoAffectedTestsPassesWithoutRunningTheGate) {
  Fixture fixture("no_affected");
  fixture.changed = "lib/README.md";
  ScriptedLauncher launcher(fixture.Handler());
  std::ostringstream log;
  absl::StatusOr<int> exit_code =
      RunMergeGate(fixture.options, launcher, log);
  ASSERT_THAT(exit_code, IsOk());
  EXPECT_EQ(*exit_code, 0);
  EXPECT_THAT(log.str(), HasSubstr("merge gate: no affected tests: nothing to "
                                   "gate, passing\n"));
  for (const std::string& command : launcher.commands) {
    EXPECT_THAT(command, Not(HasSubstr(" gate ")));
  }
  std::string out = fixture.root + "/flaky-out/";
  EXPECT_THAT(ReadFileOrEmpty(out + "report.md"),
              HasSubstr("# flaky merge gate: PASS (no affected tests)"));
  EXPECT_THAT(ReadFileOrEmpty(out + "report.md"),
              HasSubstr("- `lib/README.md`"));
  EXPECT_THAT(ReadFileOrEmpty(out + "report.junit.xml"),
              HasSubstr("tests=\"0\""));
  nlohmann::json json =
      nlohmann::json::parse(ReadFileOrEmpty(out + "merge_gate.json"));
  EXPECT_EQ(json["schema_version"], 1);
  EXPECT_EQ(json["changed_files"], nlohmann::json({"lib/README.md"}));
  EXPECT_TRUE(json["targets"].empty());
  EXPECT_TRUE(json["gate_exit_code"].is_null());
}

TEST(RunMergeGate, ReturnsTheGatesExitCodeForEachVerdict) {
  for (int verdict : {0, 1, 2, 3}) {
    Fixture fixture("verdict_" + std::to_string(verdict));
    fixture.gate_exit = verdict;
    ScriptedLauncher launcher(fixture.Handler());
    std::ostringstream log;
    absl::StatusOr<int> exit_code =
        RunMergeGate(fixture.options, launcher, log);
    ASSERT_THAT(exit_code, IsOk());
    EXPECT_EQ(*exit_code, verdict);
  }
}

TEST(RunMergeGate, GatesExactlyTheAffectedTestsFromTheWorkspace) {
  Fixture fixture("affected");
  fixture.tests = "//app:b_test\n//app:a_test\n";
  fixture.options.profiles = "cgroup:20";
  fixture.options.budget = absl::Seconds(60);
  ScriptedLauncher launcher(fixture.Handler());
  std::ostringstream log;
  absl::StatusOr<int> exit_code = RunMergeGate(fixture.options, launcher, log);
  ASSERT_THAT(exit_code, IsOk());
  EXPECT_EQ(*exit_code, 1);
  EXPECT_THAT(launcher.argvs.back(),
              ElementsAre("/opt/flaky", "gate", "//app:a_test", "//app:b_test",
                          "--profiles=cgroup:20", "--budget=60s",
                          "--report_dir=" + fixture.root + "/flaky-out"));
  EXPECT_EQ(launcher.working_dirs.back(), fixture.root);
  // The gate's progress streams to the CI log rather than into a buffer.
  EXPECT_FALSE(launcher.captured.back());
  EXPECT_THAT(log.str(), HasSubstr("merge gate: 2 affected test(s): "
                                   "//app:a_test //app:b_test\n"));
  EXPECT_THAT(log.str(), HasSubstr("merge gate: flaky gate exited 1 (FLAKY)\n"));
}

TEST(RunMergeGate, AppendsTheSelectionToTheGatesReport) {
  Fixture fixture("append");
  ScriptedLauncher launcher(fixture.Handler());
  std::ostringstream log;
  ASSERT_THAT(RunMergeGate(fixture.options, launcher, log), IsOk());
  std::string report = ReadFileOrEmpty(fixture.root + "/flaky-out/report.md");
  EXPECT_TRUE(absl::StartsWith(report, "# flaky gate: FLAKY\n")) << report;
  EXPECT_THAT(report, HasSubstr("## Test selection\n\n1 changed file(s) since "
                                "`origin/main` (merge base `222222222222`); 1 "
                                "test(s) depend on them.\n"));
  EXPECT_THAT(report, HasSubstr("- `//app:app_test`\n"));
  nlohmann::json json = nlohmann::json::parse(
      ReadFileOrEmpty(fixture.root + "/flaky-out/merge_gate.json"));
  EXPECT_EQ(json["gate_exit_code"], 1);
  EXPECT_EQ(json["targets"], nlohmann::json({"//app:app_test"}));
  EXPECT_EQ(json["gate_command"][1], "gate");
}

TEST(RunMergeGate, RemovesStaleReportsBeforeGating) {
  Fixture fixture("stale");
  std::filesystem::create_directories(fixture.root + "/flaky-out");
  std::ofstream(fixture.root + "/flaky-out/report.md") << "# old: CLEAN\n";
  std::ofstream(fixture.root + "/flaky-out/report.json") << "{}";
  fixture.gate_writes_report = false;
  fixture.gate_exit = 3;
  ScriptedLauncher launcher(fixture.Handler());
  std::ostringstream log;
  absl::StatusOr<int> exit_code = RunMergeGate(fixture.options, launcher, log);
  ASSERT_THAT(exit_code, IsOk());
  EXPECT_EQ(*exit_code, 3);
  EXPECT_FALSE(std::filesystem::exists(fixture.root + "/flaky-out/report.md"));
  EXPECT_FALSE(std::filesystem::exists(fixture.root + "/flaky-out/report.json"));
}

TEST(RunMergeGate, VerdictWithoutReportIsUnavailable) {
  Fixture fixture("no_report");
  fixture.gate_writes_report = false;
  fixture.gate_exit = 1;
  ScriptedLauncher launcher(fixture.Handler());
  std::ostringstream log;
  EXPECT_THAT(RunMergeGate(fixture.options, launcher, log),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("flaky gate exited 1 (FLAKY) but wrote no " +
                                 fixture.root + "/flaky-out/report.md")));
  // The selection is recorded even though the gate gave no verdict.
  nlohmann::json json = nlohmann::json::parse(
      ReadFileOrEmpty(fixture.root + "/flaky-out/merge_gate.json"));
  EXPECT_EQ(json["targets"], nlohmann::json({"//app:app_test"}));
  EXPECT_TRUE(json["gate_exit_code"].is_null());
}

TEST(RunMergeGate, PrepareFailureIsAnErrorAndTheGateDoesNotRun) {
  Fixture fixture("prepare");
  fixture.options.prepare_command = {"bazel", "build", "@flaky//flaky:flaky"};
  fixture.prepare_exit = 1;
  ScriptedLauncher launcher(fixture.Handler());
  std::ostringstream log;
  EXPECT_THAT(RunMergeGate(fixture.options, launcher, log),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("`bazel build @flaky//flaky:flaky` failed "
                                 "(exit 1)")));
  EXPECT_THAT(launcher.commands.back(), "bazel build @flaky//flaky:flaky");
}

TEST(RunMergeGate, CrashedGateIsUnavailable) {
  Fixture fixture("crash");
  fixture.gate_exit = 128 + 11;
  ScriptedLauncher launcher(fixture.Handler());
  std::ostringstream log;
  EXPECT_THAT(RunMergeGate(fixture.options, launcher, log),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("flaky gate ended with exit code 139, not a "
                                 "verdict (0-3)")));
}

TEST(RunMergeGate, ListOnlyPrintsTheSelectionAndRunsNothingElse) {
  Fixture fixture("list_only");
  fixture.tests = "//app:b_test\n//app:a_test\n";
  fixture.options.list_only = true;
  ScriptedLauncher launcher(fixture.Handler());
  std::ostringstream log;
  absl::StatusOr<int> exit_code = RunMergeGate(fixture.options, launcher, log);
  ASSERT_THAT(exit_code, IsOk());
  EXPECT_EQ(*exit_code, 0);
  EXPECT_EQ(log.str(), "//app:a_test\n//app:b_test\n");
  for (const std::string& command : launcher.commands) {
    EXPECT_THAT(command, Not(HasSubstr(" gate ")));
  }
  EXPECT_FALSE(std::filesystem::exists(fixture.root + "/flaky-out"));
}

TEST(RunMergeGate, RejectsInconsistentOptionsBeforeRunningAnything) {
  Fixture fixture("options");
  ScriptedLauncher launcher(fixture.Handler());
  std::ostringstream log;
  MergeGateOptions options = fixture.options;
  options.runs = 100;
  options.budget = absl::Seconds(60);
  EXPECT_THAT(RunMergeGate(options, launcher, log),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--runs and --budget are exclusive")));
  options = fixture.options;
  options.max_rate = 1.5;
  EXPECT_THAT(RunMergeGate(options, launcher, log),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--max_rate=1.5 must be between 0 and 1")));
  options = fixture.options;
  options.flaky_command.clear();
  EXPECT_THAT(RunMergeGate(options, launcher, log),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("no command to run flaky")));
  EXPECT_THAT(launcher.commands, IsEmpty());
}

}  // namespace
}  // namespace flaky::merge_gate
