// How fast one hunt exposed or cleared one target: its trials replayed in
// the order they finished, with the gate's verdict re-evaluated after each,
// which is what the benchmarks of ci/bench report (runs and seconds to the
// first failure, to FLAKY, to CLEAN), and the censored medians over several
// hunts that summarise them.
//
//   absl::StatusOr<Timeline> t = ReplayHunt(trials_of_one_target,
//                                           hunt.started_at, *hunt.finished_at,
//                                           {.max_rate = 0.001});
//   if (t->time_to_flaky) ...   // else the hunt ended before FLAKY
//
// A trial "finishes" at started_at + duration, which for Bazel runs is when
// the test action ended. The replay asks the gate's rule (stats/verdict.h) once
// per finished trial, as a hunt that looked after every run would; a real
// hunt looks once per round, so its own stopping time is its wall time.
#ifndef FLAKY_BENCH_TIMELINE_H_
#define FLAKY_BENCH_TIMELINE_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "flaky/results/trial.h"
#include "flaky/stats/verdict.h"

namespace flaky::bench {

// Timeline is what one hunt of one target showed, counted from the hunt's
// start (Bazel's start-up and the build included, as a user waits for them).
struct Timeline {
  int64_t trials = 0;    // skipped trials are not counted
  int64_t failures = 0;
  absl::Duration wall = absl::ZeroDuration();  // hunt start to hunt end
  // 1-based position, in finishing order, of the first failure, and when it
  // finished; nullopt when nothing failed.
  std::optional<int64_t> trials_to_first_failure;
  std::optional<absl::Duration> time_to_first_failure;
  // The first prefix of finished trials the gate calls FLAKY / CLEAN.
  std::optional<int64_t> trials_to_flaky;
  std::optional<absl::Duration> time_to_flaky;
  std::optional<int64_t> trials_to_clean;
  std::optional<absl::Duration> time_to_clean;
};

// ReplayHunt computes the Timeline of `trials` (one target of one hunt, in
// any order). InvalidArgument for bad gate options or when a trial
// finished before `hunt_started` or the hunt ended before it started.
absl::StatusOr<Timeline> ReplayHunt(std::vector<results::Trial> trials,
                                    absl::Time hunt_started,
                                    absl::Time hunt_finished,
                                    const stats::GateOptions& gate);

// Observation is one hunt's value of a measure: exact, or, when the event
// never happened before the hunt ended (censored), a lower bound.
struct Observation {
  double value = 0;
  bool censored = false;
};

// Median is the median of observations, exact or "at least" `value`.
struct Median {
  double value = 0;
  bool at_least = false;
};

// MedianOf returns the lower median (element (n-1)/2 in ascending order,
// censored observations sorting after every exact one). When that element
// is censored the median is only known to be at least the smallest bound
// among the censored observations at or above it: at least n - (n-1)/2 of
// the true values are that large. nullopt for no observations.
std::optional<Median> MedianOf(std::vector<Observation> observations);

}  // namespace flaky::bench

#endif  // FLAKY_BENCH_TIMELINE_H_
