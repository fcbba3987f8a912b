#include "flaky/runner/run_trials.h"

#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "flaky/results/gtest_log.h"
#include "flaky/results/junit.h"
#include "flaky/results/signature.h"
#include "flaky/starve/record.h"

namespace flaky::runner {
namespace {

using results::BepTestResult;
using results::Outcome;
using results::Trial;

absl::StatusOr<std::string> ReadWholeFile(const std::string& path,
                                          absl::string_view what) {
  if (path.empty()) {
    return absl::NotFoundError(
        absl::StrCat("Bazel reported no ", what, " for this run"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat(what, " missing: ", path));
  }
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return absl::UnavailableError(absl::StrCat("cannot read ", path));
  }
  return text.str();
}

Trial BaseTrial(const BepTestResult& run, const RunContext& context,
                const std::optional<starve::AppliedRecord>& record) {
  Trial trial;
  trial.hunt_id = context.hunt_id;
  trial.target = run.label;
  trial.profile = context.profile;
  trial.run = run.run;
  trial.shard = TrialShard(run);
  trial.attempt = run.attempt;
  trial.started_at = run.started_at;
  trial.duration = run.duration;
  trial.log_path = run.test_log;
  trial.commit = context.commit;
  trial.host = context.host;
  if (record) {
    trial.seed = record->seed;
    trial.applied = record->json;
    // Under remote execution the run ran on a worker, not here.
    if (!record->host.empty()) trial.host = record->host;
  }
  return trial;
}

void SetFailure(Trial& trial, Outcome outcome, std::string message) {
  trial.outcome = outcome;
  trial.failure_message = std::move(message);
  if (results::IsFailure(outcome)) {
    trial.failure_signature = results::FailureSignature(
        trial.failure_message.empty() ? results::OutcomeName(outcome)
                                      : trial.failure_message);
  }
}

Trial WholeTarget(const Trial& base, Outcome outcome, std::string message) {
  Trial trial = base;
  trial.test_case = "";
  SetFailure(trial, outcome, std::move(message));
  return trial;
}

bool AnyFailure(const std::vector<Trial>& trials) {
  return std::any_of(trials.begin(), trials.end(), [](const Trial& trial) {
    return results::IsFailure(trial.outcome);
  });
}

// A run Bazel calls failed whose cases all passed died after its tests
// (exit handlers, sanitizers, a crash in teardown): that is a failure of
// the target, so it gets its own trial rather than vanishing.
void AddCrashIfUnexplained(const BepTestResult& run, const Trial& base,
                           std::vector<Trial>& trials) {
  if (run.status == "FAILED" && !AnyFailure(trials)) {
    trials.push_back(WholeTarget(
        base, Outcome::kCrashed,
        "Bazel reports the run FAILED but every test case passed: the "
        "process exited non-zero after its tests"));
  } else if (run.status == "TIMEOUT" &&
             std::none_of(trials.begin(), trials.end(), [](const Trial& t) {
               return t.outcome == Outcome::kTimeout;
             })) {
    trials.push_back(WholeTarget(base, Outcome::kTimeout,
                                 "Bazel killed the run at its timeout"));
  }
}

std::vector<Trial> FromGtestLog(const results::GtestLog& log,
                                const Trial& base) {
  std::vector<Trial> trials;
  // gtest runs the cases of all iterations one after another, so a case
  // started when the ones before it in the log had taken their time: the
  // replays of ci/bench order trials by when they finished.
  absl::Duration before = absl::ZeroDuration();
  for (const results::GtestLogCase& log_case : log.cases) {
    Trial trial = base;
    trial.test_case = log_case.test_case;
    trial.repetition = log_case.iteration;
    trial.started_at = base.started_at + before;
    trial.duration = log_case.duration;
    before += log_case.duration;
    SetFailure(trial, log_case.outcome, log_case.failure_message);
    trials.push_back(std::move(trial));
  }
  return trials;
}

}  // namespace

int TrialShard(const BepTestResult& run) { return std::max(0, run.shard - 1); }

RunFiles ReadRunFiles(const BepTestResult& run, int64_t max_log_bytes) {
  RunFiles files;
  files.test_xml = ReadWholeFile(run.test_xml, "test.xml");
  if (run.test_log.empty()) {
    files.test_log = absl::NotFoundError("Bazel reported no test.log for this run");
  } else {
    files.test_log = results::ReadLogCapped(run.test_log, max_log_bytes);
  }
  return files;
}

std::optional<std::string> OutputsLeftRemote(const BepTestResult& run) {
  const std::string which =
      absl::StrCat("run ", run.run, " of ", run.label);
  if (!run.non_local_outputs.empty()) {
    return absl::StrCat(which, ": Bazel left its ",
                        run.non_local_outputs.front(),
                        " in the remote cache, not on this machine");
  }
  if (run.strategy == "remote" && run.test_xml.empty() &&
      (run.status == "PASSED" || run.status == "FAILED")) {
    return absl::StrCat(which, " ran remotely (", run.status,
                        ") but Bazel brought back no test.xml");
  }
  return std::nullopt;
}

std::optional<std::string> FindStarveError(absl::string_view test_log) {
  constexpr absl::string_view kTag = "flaky-starve: error: ";
  for (absl::string_view line : absl::StrSplit(test_log, '\n')) {
    size_t at = line.find(kTag);
    if (at != absl::string_view::npos) {
      return std::string(
          absl::StripTrailingAsciiWhitespace(line.substr(at + kTag.size())));
    }
  }
  return std::nullopt;
}

std::vector<Trial> AssembleTrials(const BepTestResult& run,
                                  const RunFiles& files,
                                  const RunContext& context) {
  std::optional<starve::AppliedRecord> record;
  if (files.test_log.ok()) record = starve::FindAppliedRecord(*files.test_log);
  const Trial base = BaseTrial(run, context, record);

  if (run.status != "PASSED" && run.status != "FAILED" &&
      run.status != "TIMEOUT") {
    return {WholeTarget(
        base, results::OutcomeFromBepStatus(run.status),
        absl::StrCat("Bazel reported ",
                     run.status.empty() ? "no status" : run.status,
                     " for this run"))};
  }

  std::optional<results::GtestLog> log;
  if (files.test_log.ok()) log = results::ParseGtestLog(*files.test_log);

  if (context.in_process_repeat) {
    if (log && !log->cases.empty()) {
      std::vector<Trial> trials = FromGtestLog(*log, base);
      AddCrashIfUnexplained(run, base, trials);
      return trials;
    }
    return {WholeTarget(
        base,
        run.status == "PASSED" ? Outcome::kError
                               : results::OutcomeFromBepStatus(run.status),
        files.test_log.ok()
            ? "no gtest results in test.log under in-process repetition "
              "(is the target a googletest binary?)"
            : std::string(files.test_log.status().message()))};
  }

  absl::StatusOr<results::JUnitReport> report =
      files.test_xml.ok()
          ? results::ParseJUnitXml(*files.test_xml, run.test_xml)
          : absl::StatusOr<results::JUnitReport>(files.test_xml.status());

  if (report.ok() && !report->bazel_fallback && !report->cases.empty() &&
      run.status != "TIMEOUT") {
    std::vector<Trial> trials;
    for (const results::TestCaseResult& test_case : report->cases) {
      Trial trial = base;
      trial.test_case = test_case.test_case;
      trial.duration = test_case.duration;
      SetFailure(trial, test_case.outcome, test_case.failure_message);
      trials.push_back(std::move(trial));
    }
    AddCrashIfUnexplained(run, base, trials);
    return trials;
  }

  // No per-case XML from the test itself (it was killed, crashed or timed
  // out, or the XML is damaged): gtest's console lines still say which
  // cases finished and which one was running.
  if (log && !log->cases.empty() && run.status != "PASSED") {
    std::vector<Trial> trials = FromGtestLog(*log, base);
    AddCrashIfUnexplained(run, base, trials);
    return trials;
  }

  if (run.status == "TIMEOUT") {
    return {WholeTarget(base, Outcome::kTimeout,
                        "Bazel killed the run at its timeout")};
  }
  if (report.ok() && report->bazel_fallback) {
    std::string message = report->cases.empty()
                              ? std::string()
                              : report->cases.front().failure_message;
    return {WholeTarget(base, results::OutcomeFromBepStatus(run.status),
                        message)};
  }
  if (!report.ok()) {
    return {WholeTarget(base, Outcome::kError,
                        absl::StrCat("unusable test.xml (Bazel says ",
                                     run.status, "): ",
                                     report.status().message()))};
  }
  return {WholeTarget(base, Outcome::kError,
                      absl::StrCat("test.xml lists no test cases (Bazel says ",
                                   run.status, ")"))};
}

RunReading ReadRun(const BepTestResult& run, const RunContext& context,
                   int64_t max_log_bytes) {
  RunReading reading;
  // Bazel reports a run it never ran as an `aborted` event with the
  // testResult id: no status, no outputs.
  if (run.status.empty() && run.test_log.empty() && run.test_xml.empty()) {
    reading.kind = RunReading::Kind::kNotRun;
    return reading;
  }
  if (std::optional<std::string> remote = OutputsLeftRemote(run)) {
    reading.kind = RunReading::Kind::kLeftRemote;
    reading.reason = *remote;
    return reading;
  }
  RunFiles files = ReadRunFiles(run, max_log_bytes);
  if (files.test_log.ok() && run.status != "PASSED") {
    if (std::optional<std::string> error = FindStarveError(*files.test_log)) {
      reading.kind = RunReading::Kind::kStarveError;
      reading.reason = *error;
      return reading;
    }
  }
  reading.trials = AssembleTrials(run, files, context);
  return reading;
}

}  // namespace flaky::runner
