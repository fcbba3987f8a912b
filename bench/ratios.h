// The side-by-side tables of bench.md: measurements with their rate and
// ratio to a reference row (throughput: runs/s against plain `bazel test`
// or the tight loop), and the "target / measured / met?" table of the
// issues' goals (issue 17: flaky hunt >= 1.0x plain Bazel, direct mode
// >= 0.5x the tight loop, time to FLAKY none/best >= 100x).
//
//   std::vector<RateRow> rows = {
//       {.name = "plain", .how = "`bazel test ...`", .runs = 200, .seconds = 8},
//       {.name = "flaky", .how = "`flaky hunt ...`", .runs = 200,
//        .seconds = 9, .reference = "plain"}};
//   std::string table = RenderRateTable(rows);
//   std::optional<double> r = RateRatio(rows, "flaky");   // 0.89
//
// Pure functions of their inputs.
#ifndef FLAKY_BENCH_RATIOS_H_
#define FLAKY_BENCH_RATIOS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace flaky::bench {

// RateRow is one way of running: `runs` in `seconds` of wall time.
struct RateRow {
  std::string name = "";  // short key, for references
  std::string how = "";   // the table's first column (markdown)
  int64_t runs = 0;
  double seconds = 0;
  std::string reference = "";  // name of the row its ratio is to; "" none
};

// RateRatio is the row `name`'s runs/s over its reference's; nullopt when
// either row is missing, has no reference, or took no time.
std::optional<double> RateRatio(const std::vector<RateRow>& rows,
                                absl::string_view name);

// RenderRateTable: | how | runs | wall s | runs/s | ratio |, the ratio as
// "0.89x `plain`" (the reference's name) or "reference"/"-".
std::string RenderRateTable(const std::vector<RateRow>& rows);

// Goal is one target of an issue and what this run measured for it.
struct Goal {
  std::string what = "";      // e.g. "flaky hunt (Bazel) vs plain bazel test"
  double target = 0;          // met when measured >= target
  std::optional<double> measured = std::nullopt;
  // measured_at_least: measured is only a lower bound (the reference never
  // reached its event within the budget).
  bool measured_at_least = false;
};

// GoalMet: "yes", "no", "n/a" (nothing measured), or "unknown" when only
// a lower bound below the target was measured.
std::string GoalMet(const Goal& goal);

// RenderGoalTable: | goal | target | measured | met? |, ratios as "1.23x".
std::string RenderGoalTable(const std::vector<Goal>& goals);

}  // namespace flaky::bench

#endif  // FLAKY_BENCH_RATIOS_H_
