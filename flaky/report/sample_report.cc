#include "flaky/report/sample_report.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "flaky/results/summary.h"
#include "flaky/results/trial.h"

namespace flaky::report {
namespace {

constexpr char kOriginal[] = "//tests/race:already_running_original";
constexpr char kFixed[] = "//tests/race:already_running_fixed";

results::CaseSummary Row(const std::string& target, const std::string& test_case,
                         const std::string& profile, int64_t failures, int64_t trials) {
  results::CaseSummary row;
  row.target = target;
  row.test_case = test_case;
  row.profile = profile;
  row.trials = trials;
  row.failures = failures;
  row.by_outcome[results::Outcome::kPass] = trials - failures;
  if (failures > 0) row.by_outcome[results::Outcome::kFail] = failures;
  row.trials_since_last_failure = failures == 0 ? trials : 3;
  if (failures > 0) row.trials_to_first_failure = trials / failures;
  row.total_duration = absl::Milliseconds(40 * trials);
  row.mode = std::string(results::HuntModeName(results::HuntMode::kBazelRuns));
  return row;
}

results::SignatureCount Signature(std::string signature, int64_t count,
                                  std::string log, std::optional<uint64_t> seed,
                                  int first_run) {
  results::SignatureCount s;
  s.signature = std::move(signature);
  s.count = count;
  s.example_message = s.signature + " (raw)";
  s.first_log_path = std::move(log);
  s.seed = seed;
  s.first_run = first_run;
  return s;
}

}  // namespace

Report SampleReport() {
  std::vector<results::CaseSummary> rows;
  rows.push_back(Row(kOriginal, "AlreadyRunning.Original", "none", 2, 500));
  rows.back().signatures.push_back(Signature(
      "AlreadyRunning.Original: RuntimeError not raised", 2,
      "/out/logs/original/none/run_131.log", std::nullopt, 131));
  rows.push_back(Row(kOriginal, "AlreadyRunning.Original", "chaos:7", 37, 500));
  rows.back().signatures.push_back(Signature(
      "AlreadyRunning.Original: RuntimeError not raised", 30,
      "/out/logs/original/chaos/run_12.log", 18446744073709551557u, 12));
  rows.back().signatures.push_back(Signature(
      "unrecognized interpreter ID <N> | thread \x1b[31mThread-8\x1b[0m & \"run\" \xff", 7,
      "/out/logs/original/chaos/run_40.log", 7, 40));
  rows.push_back(Row(kOriginal, "AlreadyRunning.Original", "cgroup:20", 12, 500));
  rows.back().signatures.push_back(Signature(
      "AlreadyRunning.Original: RuntimeError not raised", 12,
      "/out/logs/original/cgroup/run_77.log", std::nullopt, 77));
  rows.push_back(Row(kFixed, "AlreadyRunning.Fixed", "none", 0, 500));
  rows.push_back(Row(kFixed, "AlreadyRunning.Fixed", "chaos:7", 0, 3400));
  rows.push_back(Row(kFixed, "AlreadyRunning.Fixed", "cgroup:20", 0, 500));

  HuntMetadata metadata;
  metadata.mode = results::HuntMode::kBazelRuns;
  metadata.commit = "1a2b3c4d";
  metadata.host = "ci-worker-7";
  metadata.date = absl::FromUnixSeconds(1795795200);  // 2026-11-27 16:00 UTC
  metadata.gate.max_rate = 0.001;
  metadata.gate.confidence = 0.95;
  absl::StatusOr<Report> report =
      MakeReport("bpo-37224: run_string while already running", std::move(rows),
                 std::move(metadata));
  // The sample is fixed data: failing here is a bug in MakeReport, and every
  // test using the sample reports it.
  if (!report.ok()) {
    Report failed;
    failed.title = "MakeReport failed: " + report.status().ToString();
    return failed;
  }
  FixRequest request;
  request.baseline_target = kOriginal;
  request.candidate_target = kFixed;
  request.profile = "chaos:7";
  request.baseline_label = "original (no readiness check)";
  request.candidate_label = "fixed (readiness check, PR 27240)";
  absl::StatusOr<FixComparison> fix = CompareFix(report->rows, request, 0.05);
  if (fix.ok()) report->fixes.push_back(*std::move(fix));
  return *std::move(report);
}

}  // namespace flaky::report
