// The tables of bench.md's sections 6 (detection in direct mode: time to
// FLAKY under `none` against the best profile) and 7 (foreign and model
// races x profiles), aggregated from the hunts' rows in the store: per
// hunt and target, runs, failed runs, seconds per run, and the time to
// FLAKY replayed per profile (timeline.h), or the bound "not FLAKY within
// N runs / S s" when the hunt ended first.
//
//   absl::StatusOr<Cell> none = SummarizeHunt(hunt, "//t:orig", gate);
//   std::string row = FlakyCell(*none);   // "12.3 s (40 runs)"
//   std::optional<Goal> goal = FlakyRatioGoal("...", *none, *best, 100);
//
// Pure functions of the hunts given.
#ifndef FLAKY_BENCH_MATRIX_H_
#define FLAKY_BENCH_MATRIX_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "bench/ratios.h"
#include "bench/tables.h"
#include "flaky/stats/verdict.h"

namespace flaky::bench {

// Cell is what one hunt showed of one target.
struct Cell {
  std::string target = "";
  std::string column = "";    // the matrix column: "none", "chaos", "auto", ...
  std::string profiles = "";  // the profiles its trials ran under, comma-separated
  int64_t runs = 0;         // runs (a run may hold several test cases)
  int64_t failed_runs = 0;  // runs with any failing test case
  // Mean over runs of the run's longest trial: Bazel's (or the direct
  // runner's) time for the test, the wrapper included.
  double seconds_per_run = 0;
  double hunt_seconds = 0;  // the hunt's wall time
  // The first profile of the hunt to reach FLAKY on its own trials (each
  // replayed from the hunt's start), when and after how many of its runs.
  std::optional<std::string> flaky_profile = std::nullopt;
  std::optional<double> seconds_to_flaky = std::nullopt;
  std::optional<int64_t> trials_to_flaky = std::nullopt;
  // The profile whose runs failed most often (by rate), "" when none failed.
  std::string most_failing_profile = "";
};

// SummarizeHunt makes the Cell of `target` in `hunt` (column: the hunt
// name's family, see tables.h). FailedPrecondition when the hunt has no
// end time; NotFound when it has no trials of `target`.
absl::StatusOr<Cell> SummarizeHunt(const BenchHunt& hunt,
                                   absl::string_view target,
                                   const stats::GateOptions& gate);

// FlakyCell: "12.3 s (40 runs, `chaos:1`)" or "not FLAKY within 100 runs /
// 30.0 s".
std::string FlakyCell(const Cell& cell);

// FlakyRatioGoal is `baseline`'s time to FLAKY over `best`'s, against
// `target`: a lower bound (the baseline's hunt time) when the baseline did
// not reach FLAKY; no measurement when `best` did not.
Goal FlakyRatioGoal(std::string what, const Cell& baseline, const Cell& best,
                    double target);

// RenderMatrix: | target | profile | failures/runs | rate | s/run | x none |
// time to FLAKY |, rows in the given order; "x none" is the ratio of
// s/run to the same target's "none" cell (for a target ending in _fixed,
// its _original's), "-" without one.
std::string RenderMatrix(const std::vector<Cell>& cells, double confidence);

// RenderFixed: | fixed target | profile | failures/runs | 0 failures in >=
// `required` runs? |.
std::string RenderFixed(const std::vector<Cell>& cells, int64_t required);

}  // namespace flaky::bench

#endif  // FLAKY_BENCH_MATRIX_H_
