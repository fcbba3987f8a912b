#include "bench/timeline.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace flaky::bench {

namespace {

absl::Time FinishedAt(const results::Trial& trial) {
  return trial.started_at + trial.duration;
}

}  // namespace

absl::StatusOr<Timeline> ReplayHunt(std::vector<results::Trial> trials,
                                    absl::Time hunt_started,
                                    absl::Time hunt_finished,
                                    const stats::GateOptions& gate) {
  FLAKY_RETURN_IF_ERROR(stats::ValidateGateOptions(gate));
  if (hunt_finished < hunt_started) {
    return absl::InvalidArgumentError(
        absl::StrCat("the hunt ended (", absl::FormatTime(hunt_finished),
                     ") before it started (", absl::FormatTime(hunt_started),
                     ")"));
  }
  trials.erase(std::remove_if(trials.begin(), trials.end(),
                              [](const results::Trial& trial) {
                                return trial.outcome ==
                                       results::Outcome::kSkipped;
                              }),
               trials.end());
  std::stable_sort(trials.begin(), trials.end(),
                   [](const results::Trial& a, const results::Trial& b) {
                     return std::make_tuple(FinishedAt(a), a.run, a.repetition) <
                            std::make_tuple(FinishedAt(b), b.run, b.repetition);
                   });
  Timeline timeline;
  timeline.wall = hunt_finished - hunt_started;
  for (const results::Trial& trial : trials) {
    // Bazel reports start times in whole milliseconds: a run that began in
    // the hunt's first millisecond may appear to precede it by less than one.
    if (FinishedAt(trial) < hunt_started - absl::Milliseconds(1)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "trial ", trial.target, " run ", trial.run,
          " finished before its hunt started"));
    }
    const absl::Duration since_start =
        std::max(absl::ZeroDuration(), FinishedAt(trial) - hunt_started);
    ++timeline.trials;
    if (results::IsFailure(trial.outcome)) {
      ++timeline.failures;
      if (!timeline.trials_to_first_failure) {
        timeline.trials_to_first_failure = timeline.trials;
        timeline.time_to_first_failure = since_start;
      }
    }
    if (timeline.trials_to_flaky && timeline.trials_to_clean) continue;
    FLAKY_ASSIGN_OR_RETURN(
        stats::Judgement judgement,
        stats::Judge(timeline.failures, timeline.trials, gate));
    if (judgement.verdict == stats::Verdict::kFlaky &&
        !timeline.trials_to_flaky) {
      timeline.trials_to_flaky = timeline.trials;
      timeline.time_to_flaky = since_start;
    }
    if (judgement.verdict == stats::Verdict::kClean &&
        !timeline.trials_to_clean) {
      timeline.trials_to_clean = timeline.trials;
      timeline.time_to_clean = since_start;
    }
  }
  return timeline;
}

std::optional<Median> MedianOf(std::vector<Observation> observations) {
  if (observations.empty()) return std::nullopt;
  std::sort(observations.begin(), observations.end(),
            [](const Observation& a, const Observation& b) {
              return std::make_pair(a.censored, a.value) <
                     std::make_pair(b.censored, b.value);
            });
  const size_t middle = (observations.size() - 1) / 2;
  if (!observations[middle].censored) {
    return Median{.value = observations[middle].value, .at_least = false};
  }
  // Every observation from `middle` on is censored (they sort last), and
  // the smallest of their bounds is the first of them.
  return Median{.value = observations[middle].value, .at_least = true};
}

}  // namespace flaky::bench
