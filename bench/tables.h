// The markdown tables of ci/bench, made from the hunts it ran into one
// store. ci/bench names every hunt SECTION.FAMILY.REP (e.g.
// "detect.chaos.3"): SECTION says which table it belongs to, FAMILY groups
// the independent repetitions of one profile or mode, REP tells them apart.
//
//   std::vector<BenchHunt> hunts = ...;  // from the store, see bench_report
//   absl::StatusOr<std::string> table = DetectionTable(hunts, gate);
//
// Hunts of other sections are ignored by each table; ids that are not
// SECTION.FAMILY.REP are ignored by all of them.
#ifndef FLAKY_BENCH_TABLES_H_
#define FLAKY_BENCH_TABLES_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "flaky/results/store.h"
#include "flaky/results/trial.h"
#include "flaky/stats/verdict.h"

namespace flaky::bench {

// BenchHunt is one finished hunt and all its trials.
struct BenchHunt {
  results::HuntRecord hunt;
  std::vector<results::Trial> trials;
};

// BenchHuntName is a parsed hunt id.
struct BenchHuntName {
  std::string section;
  std::string family;
  std::string rep;
};

// LoadBenchHunts reads every hunt of the store at `path` whose id is
// SECTION.FAMILY.REP (only those in `ids`, when given), with its trials,
// oldest first, without writing to it. Errors are Store::Open's and its
// reads'.
absl::StatusOr<std::vector<BenchHunt>> LoadBenchHunts(
    const std::string& path, const std::vector<std::string>& ids = {});

// ParseBenchHuntName splits "SECTION.FAMILY.REP"; nullopt for other ids.
// FAMILY may itself contain dots only if REP does not: the last dot ends it.
std::optional<BenchHuntName> ParseBenchHuntName(absl::string_view id);

// DetectionTable: per (family, target) of the "detect" hunts, the pooled
// failures/runs with the 95% interval, how many hunts saw a failure, and
// the medians over hunts of runs and seconds to the first failure, of
// seconds to FLAKY (replayed, see timeline.h) and of the hunt's wall time;
// then, per target, the headline: the fastest family's median time to
// FLAKY against `baseline_family`'s (a lower bound on the ratio when the
// baseline never reached FLAKY). FailedPrecondition when a hunt has not
// finished (no end time).
absl::StatusOr<std::string> DetectionTable(const std::vector<BenchHunt>& hunts,
                                           const stats::GateOptions& gate,
                                           absl::string_view baseline_family);

// BestProfile is the profile (as the family's first hunt gave it) of the
// detection family other than `baseline_family` whose slowest target has the
// smallest exact median time to FLAKY: the profile to verify fixes under.
// NotFound when no such family reached FLAKY in most of its hunts.
absl::StatusOr<std::string> BestProfile(const std::vector<BenchHunt>& hunts,
                                        const stats::GateOptions& gate,
                                        absl::string_view baseline_family);

// VerificationTable: per "verify" hunt and target, trials, failures, the
// one-sided anytime upper bound, the verdict, trials and seconds to CLEAN
// (replayed) and the hunt's wall time.
absl::StatusOr<std::string> VerificationTable(
    const std::vector<BenchHunt>& hunts, const stats::GateOptions& gate);

// ThroughputTable: per "throughput" hunt, Bazel runs, trials, wall time,
// trials per second over the whole hunt (start-up and build included) and
// while tests ran (first trial start to last trial end).
absl::StatusOr<std::string> ThroughputTable(const std::vector<BenchHunt>& hunts);

}  // namespace flaky::bench

#endif  // FLAKY_BENCH_TABLES_H_
