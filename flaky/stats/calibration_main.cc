// calibrate: how often flaky's verdict rule errs when a hunt is judged
// after every run, for BENCHMARKS.md (ci/bench runs it).
//
//   bazel run -c opt //flaky/stats:calibrate -- --hunts=1000000
//
// Prints a markdown table: per true rate (0, M/2, M, 2M, 10M) the share of
// simulated hunts ending FLAKY and CLEAN, the same computed exactly, the
// mean runs to a verdict, and the single exact look checked as often;
// then the runs to CLEAN without failures and to FLAKY at 10M against a
// fixed design.
#include <cstdint>
#include <iostream>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_format.h"
#include "flaky/stats/anytime.h"
#include "flaky/stats/calibration.h"
#include "flaky/stats/plan.h"

ABSL_FLAG(double, max_rate, 0.001, "the rule's maximum flake rate M");
ABSL_FLAG(double, confidence, 0.95, "the rule's confidence");
ABSL_FLAG(int64_t, horizon, 20000, "the most runs a simulated hunt makes");
ABSL_FLAG(int64_t, hunts, 100000, "simulated hunts per true rate");
ABSL_FLAG(uint64_t, seed, 1, "seed of the simulation");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  flaky::stats::CalibrationOptions options;
  options.rule.max_rate = absl::GetFlag(FLAGS_max_rate);
  options.rule.confidence = absl::GetFlag(FLAGS_confidence);
  options.horizon = absl::GetFlag(FLAGS_horizon);
  options.hunts = absl::GetFlag(FLAGS_hunts);
  options.seed = absl::GetFlag(FLAGS_seed);
  const double m = options.rule.max_rate;
  std::vector<flaky::stats::CalibrationRow> rows;
  for (double rate : {0.0, m / 2, m, 2 * m, 10 * m}) {
    absl::StatusOr<flaky::stats::CalibrationRow> row =
        flaky::stats::Calibrate(options, rate);
    if (!row.ok()) {
      std::cerr << "calibration: " << row.status().message() << "\n";
      return 2;
    }
    rows.push_back(*row);
  }
  std::cout << flaky::stats::CalibrationTable(rows, options);
  absl::StatusOr<flaky::stats::Plan> plan = flaky::stats::MakePlan(
      {.rate = m, .confidence = options.rule.confidence});
  absl::StatusOr<int64_t> fixed = flaky::stats::FixedLookRunsToDetect(
      m, options.rule.confidence, 10 * m, options.rule.confidence);
  if (!plan.ok() || !fixed.ok()) {
    std::cerr << "calibration: cannot plan for these options\n";
    return 2;
  }
  const flaky::stats::OperatingCharacteristics& ten = rows.back().exact;
  std::cout << absl::StrFormat(
      "\nCLEAN without failures: %d runs (a single look fixed in advance: %d; "
      "%.3fx).\nFLAKY at 10M: %.0f runs on average (exact), against %d for "
      "the fixed design that tells 10M from M with the same errors "
      "(%.2fx).\n",
      plan->runs_to_claim, plan->single_look_runs_to_claim,
      static_cast<double>(plan->runs_to_claim) /
          static_cast<double>(plan->single_look_runs_to_claim),
      ten.mean_runs_to_flaky, *fixed, ten.mean_runs_to_flaky / static_cast<double>(*fixed));
  return 0;
}
