// Calibration of verdict rules: how often a rule errs when a hunt is
// judged after every run, measured by simulating many hunts and computed
// exactly, side by side with the single exact look flaky used to check
// repeatedly (the rule that lied under monitoring).
//
//   CalibrationOptions options;              // 0.1% at 95%, 20,000 runs
//   options.hunts = 100000;
//   absl::StatusOr<CalibrationRow> row = Calibrate(options, 0.001);
//   row->sampled_flaky;                      // ~0.028: false FLAKY at p = M
//   row->exact.p_flaky;                      // the same, computed exactly
//   row->single_look.p_flaky;                // ~0.26: the exact bound, watched
//
// A simulated hunt draws each run's outcome (failure with probability p)
// and stops at the first run after which the rule says FLAKY or CLEAN, or
// at the horizon. It jumps from one failure to the next (geometric gaps)
// instead of drawing every run: between two failures the count of
// failures is fixed, so FLAKY cannot newly hold (its boundary only rises
// with the runs) and CLEAN first holds at the one run count where its
// boundary reaches that count. The result is the same as judging after
// every run; calibration_test checks it against a run-by-run simulation.
//
// Functions are pure and thread-safe; randomness comes from the seed.
#ifndef FLAKY_STATS_CALIBRATION_H_
#define FLAKY_STATS_CALIBRATION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "flaky/stats/anytime.h"

namespace flaky::stats {

// CalibrationOptions say which rule to calibrate and how.
struct CalibrationOptions {
  BoundaryOptions rule;    // max rate, confidence (family 1)
  int64_t horizon = 20000; // the most runs a hunt makes
  int64_t hunts = 10000;   // simulated hunts per rate
  uint64_t seed = 1;       // of the simulation's generator
};

// CalibrationRow is one true rate's result. Plain data.
struct CalibrationRow {
  double rate = 0.0;
  int64_t hunts = 0;
  double sampled_flaky = 0.0;      // share of simulated hunts ending FLAKY
  double sampled_clean = 0.0;      // ... ending CLEAN
  double sampled_mean_runs = 0.0;  // runs until the stop (horizon if none)
  OperatingCharacteristics exact;        // the rule, exactly
  OperatingCharacteristics single_look;  // the exact one-sided bound, watched
};

// SingleLookBoundaries tabulates the exact (Clopper-Pearson) one-sided rule
// flaky used before anytime.h: FLAKY when P(X >= k; n, M) < 1 - C, CLEAN
// when P(X <= k; n, M) < 1 - C, valid for ONE look at a fixed n.
// Errors: as Boundaries.
absl::StatusOr<std::vector<Boundary>> SingleLookBoundaries(
    const BoundaryOptions& options, int64_t up_to);

// SimulateHunts runs `hunts` simulated hunts of the rule given by `rows`
// (one per run count from 1; the horizon is their number) at `rate` and
// returns the shares ending FLAKY and CLEAN and the mean runs, in
// row.sampled_*. Errors: InvalidArgument for a rate outside [0, 1], no
// rows or hunts < 1.
absl::StatusOr<CalibrationRow> SimulateHunts(const std::vector<Boundary>& rows,
                                             double rate, int64_t hunts,
                                             uint64_t seed);

// Calibrate simulates options.hunts hunts of the anytime rule at `rate`
// and computes the exact operating characteristics of it and of the single
// look. Errors: InvalidArgument for bad options.
absl::StatusOr<CalibrationRow> Calibrate(const CalibrationOptions& options,
                                         double rate);

// CalibrationTable renders rows as a markdown table (one per rate): the
// errors a hunt judged after every run makes, sampled and exact, beside the
// single look's, and the mean runs to a verdict.
std::string CalibrationTable(const std::vector<CalibrationRow>& rows,
                             const CalibrationOptions& options);

}  // namespace flaky::stats

#endif  // FLAKY_STATS_CALIBRATION_H_
