#include "flaky/runner/testing/fake_bazel.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"

namespace flaky::runner::testing {
namespace {

std::string ArgValue(const std::vector<std::string>& argv,
                     absl::string_view prefix) {
  for (const std::string& arg : argv) {
    if (absl::StartsWith(arg, prefix)) return arg.substr(prefix.size());
  }
  return "";
}

bool Has(const std::vector<std::string>& argv, absl::string_view word) {
  for (const std::string& arg : argv) {
    if (arg == word) return true;
  }
  return false;
}

std::string CaseXml(bool failed, int run, bool with_skipped, double seconds) {
  return absl::StrCat(
      R"(<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="1" name="AllTests"><testsuite name="Suite" tests="1">
<testcase name="Race" status="run" result="completed" time=")",
      seconds, R"(" classname="Suite">)",
      failed ? absl::StrCat("<failure message=\"t.cc:9&#x0A;unrecognized "
                            "interpreter ID ",
                            60 + run, "\" type=\"\"></failure>")
             : "",
      "</testcase>",
      with_skipped ? "<testcase name=\"Skips\" status=\"run\" result=\"skipped\" "
                     "time=\"0\" classname=\"Suite\"><skipped/></testcase>"
                   : "",
      "</testsuite></testsuites>\n");
}

std::string RepeatLog(int iterations, bool fail_second) {
  std::string log = "Executing tests from //t:a_test\n";
  for (int i = 1; i <= iterations; ++i) {
    absl::StrAppend(&log, "Repeating all tests (iteration ", i, ") . . .\n\n",
                    "[ RUN      ] Suite.Race\n");
    if (fail_second && i == 2) {
      absl::StrAppend(&log, "t.cc:9: Failure\nboom\n",
                      "[  FAILED  ] Suite.Race (1 ms)\n");
    } else {
      absl::StrAppend(&log, "[       OK ] Suite.Race (1 ms)\n");
    }
  }
  return log;
}

// FakeTestProcess plays one `bazel test`: each Poll completes one run.
class FakeTestProcess : public Process {
 public:
  FakeTestProcess(FakeBazel& bazel, std::vector<std::string> argv,
                  std::string log_path)
      : bazel_(bazel), argv_(std::move(argv)), log_path_(std::move(log_path)) {
    bep_path_ = ArgValue(argv_, "--build_event_json_file=");
    runs_ = std::atoi(ArgValue(argv_, "--runs_per_test=").c_str());
    std::ofstream(log_path_) << "INFO: Analyzed 1 target\n";
    std::ofstream(bep_path_) << R"({"id":{"started":{}},"started":{"command":"test"}})"
                             << "\n";
  }

  std::optional<ExitStatus> Poll() override;
  ExitStatus Wait() override {
    while (!Poll()) {
    }
    return *status_;
  }
  void Interrupt() override {
    ++bazel_.interrupts;
    status_ = ExitStatus{.code = 8};
  }
  void Kill() override { status_ = ExitStatus{.code = -1, .signal = 9}; }

 private:
  FakeBazel& bazel_;
  std::vector<std::string> argv_;
  std::string log_path_;
  std::string bep_path_;
  int runs_ = 0;
  int next_run_ = 1;
  bool any_failed_ = false;
  std::optional<ExitStatus> status_;
};

std::optional<ExitStatus> FakeTestProcess::Poll() {
  if (status_) return status_;
  // Like Bazel after Ctrl-C reached us: no new runs start.
  if (bazel_.stop != nullptr && bazel_.stop->load()) return status_;
  if (next_run_ > runs_) {
    std::ofstream(bep_path_, std::ios::app)
        << R"({"id":{"buildFinished":{}},"finished":{"exitCode":{"name":")"
        << (any_failed_ ? "TESTS_FAILED\",\"code\":3" : "SUCCESS\"")
        << R"(}}})" << "\n"
        << R"({"id":{"progress":{"opaqueCount":5}},"progress":{},"lastMessage":true})"
        << "\n";
    status_ = ExitStatus{.code = any_failed_ ? 3 : 0};
    return status_;
  }
  const int run = next_run_++;
  // The profile from --run_under='WRAPPER --profile=P ... --'.
  std::string profile;
  for (const std::string& arg : argv_) {
    const size_t at = arg.find("--profile=");
    if (absl::StartsWith(arg, "--run_under=") && at != std::string::npos) {
      profile = arg.substr(at + 10, arg.find(' ', at) - at - 10);
    }
  }
  std::string extra = bazel_.log_extra(run);
  if (bazel_.unappliable.count(profile) > 0) {
    extra += absl::StrCat("flaky-starve: error: ", profile,
                          ": not on this machine\n");
  }
  const bool profile_error = absl::StrContains(extra, "flaky-starve: error:");
  // One testResult per target of the command line (after "--"), each with
  // its own files.
  std::vector<std::string> targets;
  for (auto it = argv_.begin(); it != argv_.end(); ++it) {
    if (*it == "--") {
      targets.assign(it + 1, argv_.end());
      break;
    }
  }
  for (size_t t = 0; t < targets.size(); ++t) {
    const std::string& target = targets[t];
    std::string target_extra = extra;
    if (bazel_.unappliable_for.count({target, profile}) > 0) {
      target_extra += absl::StrCat("flaky-starve: error: ", profile, ": cannot act in ",
                                   target, "\n");
    }
    const bool starve_error = profile_error || target_extra != extra;
    const bool failed = bazel_.fails_for     ? bazel_.fails_for(target, profile, run)
                        : bazel_.fails_under ? bazel_.fails_under(profile, run)
                                             : bazel_.fails(run);
    any_failed_ = any_failed_ || failed || starve_error;
    const std::string run_dir = absl::StrCat(bazel_.dir, "/inv", bazel_.invocations,
                                             "_run", run, "_target", t);
    mkdir(run_dir.c_str(), 0755);
    std::ofstream(run_dir + "/test.xml")
        << CaseXml(failed, run, bazel_.with_skipped_case, bazel_.case_seconds);
    std::ofstream(run_dir + "/test.log")
        << target_extra
        << (bazel_.repeat_iterations > 0
                ? RepeatLog(bazel_.repeat_iterations, failed)
                : "[ RUN      ] Suite.Race\n");
    std::ofstream(bep_path_, std::ios::app)
        << R"({"id":{"testResult":{"label":")" << target << R"(","run":)" << run
        << R"(,"shard":1,"attempt":1}},"testResult":{"testActionOutput":[)"
        << R"({"name":"test.log","uri":"file://)" << run_dir << R"(/test.log"},)"
        << R"({"name":"test.xml","uri":")"
        << (bazel_.remote_xml_from_run > 0 && run >= bazel_.remote_xml_from_run
                ? "bytestream://127.0.0.1:9/blobs/ab12/345"
                : absl::StrCat("file://", run_dir, "/test.xml"))
        << R"("}],)"
        << (bazel_.strategy.empty()
                ? ""
                : absl::StrCat(R"("executionInfo":{"strategy":")",
                               bazel_.strategy, R"("},)"))
        << R"("testAttemptDurationMillis":"1000","status":")"
        << (failed || starve_error ? "FAILED" : "PASSED")
        << R"(","testAttemptStartMillisEpoch":")"
        << absl::ToUnixMillis(bazel_.clock.Now()) << R"("}})" << "\n";
  }
  if (run == bazel_.garbage_after_run) {
    std::ofstream(bep_path_, std::ios::app) << "{\"id\": not json\n";
  }
  bazel_.clock.Advance(bazel_.per_run);
  ++bazel_.runs_completed;
  if (bazel_.stop != nullptr && bazel_.runs_completed == bazel_.stop_after_runs) {
    bazel_.stop->store(true);
  }
  return std::nullopt;
}

class DoneProcess : public Process {
 public:
  explicit DoneProcess(int code) : status_{.code = code} {}
  std::optional<ExitStatus> Poll() override { return status_; }
  ExitStatus Wait() override { return status_; }
  void Interrupt() override {}
  void Kill() override {}

 private:
  ExitStatus status_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Process>> FakeBazel::Start(const Command& command) {
  commands.push_back(command.argv);
  if (Has(command.argv, "build")) return std::make_unique<DoneProcess>(0);
  if (Has(command.argv, "test")) {
    ++invocations;
    if (!bazel_error.empty()) {
      std::ofstream(command.stderr_path) << bazel_error;
      return std::make_unique<DoneProcess>(bazel_exit);
    }
    return std::make_unique<FakeTestProcess>(*this, command.argv,
                                             command.stderr_path);
  }
  return absl::InvalidArgumentError("unexpected command");
}

absl::StatusOr<CommandResult> FakeBazel::Run(const Command& command) {
  commands.push_back(command.argv);
  CommandResult result;
  if (command.argv[0] == "git") {
    result.stdout_text = "abc123\n";
  } else if (Has(command.argv, "--output=label_kind")) {
    result.status.code = query_exit;
    result.stdout_text = query_output;
    result.stderr_text = query_stderr;
  } else if (Has(command.argv, "query")) {
    result.status.code = labels.count(command.argv.back()) ? 0 : 7;
  }
  return result;
}

std::vector<std::string> FakeBazel::TestCommands() const {
  std::vector<std::string> lines;
  for (const std::vector<std::string>& argv : commands) {
    if (Has(argv, "test")) lines.push_back(absl::StrJoin(argv, " "));
  }
  return lines;
}

}  // namespace flaky::runner::testing
