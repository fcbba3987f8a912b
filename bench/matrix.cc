#include "bench/matrix.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "base/status_macros.h"
#include "bench/timeline.h"
#include "flaky/stats/binomial.h"

namespace flaky::bench {

namespace {

using results::Trial;

std::string ShortLabel(absl::string_view label) {
  const size_t colon = label.rfind(':');
  return std::string(colon == absl::string_view::npos ? label
                                                      : label.substr(colon + 1));
}

struct RunTotals {
  bool failed = false;
  absl::Duration longest = absl::ZeroDuration();
};

}  // namespace

absl::StatusOr<Cell> SummarizeHunt(const BenchHunt& hunt,
                                   absl::string_view target,
                                   const stats::GateOptions& gate) {
  if (!hunt.hunt.finished_at) {
    return absl::FailedPreconditionError(absl::StrCat(
        "hunt ", hunt.hunt.id, " has no end time (status ", hunt.hunt.status,
        ")"));
  }
  Cell cell;
  cell.target = std::string(target);
  std::optional<BenchHuntName> name = ParseBenchHuntName(hunt.hunt.id);
  cell.column = name ? name->family : hunt.hunt.id;
  cell.hunt_seconds =
      absl::ToDoubleSeconds(*hunt.hunt.finished_at - hunt.hunt.started_at);

  // Runs are keyed by what tells them apart in the store: Bazel numbers
  // every round's runs from 1, their start time differs.
  using RunId = std::tuple<std::string, int, int, int, int64_t>;
  std::map<RunId, RunTotals> runs;
  std::map<std::string, std::vector<Trial>> by_profile;
  std::vector<std::string> profile_order;
  for (const Trial& trial : hunt.trials) {
    if (trial.target != target || trial.outcome == results::Outcome::kSkipped) {
      continue;
    }
    RunTotals& run = runs[{trial.profile, trial.run, trial.shard, trial.attempt,
                           absl::ToUnixMicros(trial.started_at)}];
    run.failed = run.failed || results::IsFailure(trial.outcome);
    run.longest = std::max(run.longest, trial.duration);
    if (by_profile.find(trial.profile) == by_profile.end()) {
      profile_order.push_back(trial.profile);
    }
    by_profile[trial.profile].push_back(trial);
  }
  if (runs.empty()) {
    return absl::NotFoundError(absl::StrCat("hunt ", hunt.hunt.id,
                                            " has no trials of ", target));
  }
  cell.profiles = absl::StrJoin(profile_order, ",");
  absl::Duration total = absl::ZeroDuration();
  std::map<std::string, std::pair<int64_t, int64_t>> per_profile;  // failed, runs
  for (const auto& [id, run] : runs) {
    ++cell.runs;
    total += run.longest;
    auto& counts = per_profile[std::get<0>(id)];
    ++counts.second;
    if (run.failed) {
      ++cell.failed_runs;
      ++counts.first;
    }
  }
  cell.seconds_per_run = absl::ToDoubleSeconds(total) / cell.runs;
  double worst = 0;
  for (const std::string& profile : profile_order) {
    const auto& [failed, n] = per_profile[profile];
    if (failed > 0 && static_cast<double>(failed) / n > worst) {
      worst = static_cast<double>(failed) / n;
      cell.most_failing_profile = profile;
    }
    FLAKY_ASSIGN_OR_RETURN(
        Timeline timeline,
        ReplayHunt(by_profile[profile], hunt.hunt.started_at,
                   *hunt.hunt.finished_at, gate));
    if (timeline.time_to_flaky) {
      const double seconds = absl::ToDoubleSeconds(*timeline.time_to_flaky);
      if (!cell.seconds_to_flaky || seconds < *cell.seconds_to_flaky) {
        cell.seconds_to_flaky = seconds;
        cell.trials_to_flaky = timeline.trials_to_flaky;
        cell.flaky_profile = profile;
      }
    }
  }
  return cell;
}

std::string FlakyCell(const Cell& cell) {
  if (!cell.seconds_to_flaky) {
    return absl::StrFormat("not FLAKY within %d runs / %.1f s", cell.runs,
                           cell.hunt_seconds);
  }
  return absl::StrFormat("%.1f s (%d run%s, `%s`)", *cell.seconds_to_flaky,
                         *cell.trials_to_flaky, *cell.trials_to_flaky == 1 ? "" : "s",
                         *cell.flaky_profile);
}

Goal FlakyRatioGoal(std::string what, const Cell& baseline, const Cell& best,
                    double target) {
  Goal goal{.what = std::move(what), .target = target};
  if (!best.seconds_to_flaky) return goal;
  const double best_seconds = std::max(*best.seconds_to_flaky, 1e-3);
  if (baseline.seconds_to_flaky) {
    goal.measured = *baseline.seconds_to_flaky / best_seconds;
  } else {
    goal.measured = baseline.hunt_seconds / best_seconds;
    goal.measured_at_least = true;
  }
  return goal;
}

std::string RenderMatrix(const std::vector<Cell>& cells, double confidence) {
  std::string out = absl::StrCat(
      "| target | profile | failures/runs | rate [",
      stats::FormatConfidence(confidence),
      " interval] | s/run | x none | time to FLAKY |\n"
      "|---|---|---:|---|---:|---:|---|\n");
  for (const Cell& cell : cells) {
    const std::string original =
        absl::StrReplaceAll(cell.target, {{"_fixed", "_original"}});
    auto none = std::find_if(cells.begin(), cells.end(), [&](const Cell& c) {
      return c.column == "none" && (c.target == cell.target || c.target == original);
    });
    std::string ratio = "-";
    if (none != cells.end() && none->seconds_per_run > 0) {
      ratio = absl::StrFormat("%.2f", cell.seconds_per_run / none->seconds_per_run);
    }
    std::string rate = "n/a";
    absl::StatusOr<stats::RateInterval> interval =
        stats::EstimateRate(cell.failed_runs, cell.runs, confidence);
    if (interval.ok()) {
      rate = absl::StrCat(
          stats::FormatPercent(interval->rate), " [",
          stats::FormatPercent(interval->low, stats::PercentRounding::kDown),
          ", ",
          stats::FormatPercent(interval->high, stats::PercentRounding::kUp), "]");
    }
    absl::StrAppend(&out, "| ", ShortLabel(cell.target), " | ", cell.column,
                    " (`", cell.profiles, "`) | ", cell.failed_runs, "/",
                    cell.runs, " | ", rate, " | ",
                    absl::StrFormat("%.3f", cell.seconds_per_run), " | ", ratio,
                    " | ", FlakyCell(cell), " |\n");
  }
  return out;
}

std::string RenderFixed(const std::vector<Cell>& cells, int64_t required) {
  std::string out = absl::StrCat(
      "| fixed target | profile | failures/runs | s/run | 0 failures in >= ",
      required, " runs? |\n|---|---|---:|---:|---|\n");
  for (const Cell& cell : cells) {
    std::string met = "no";
    if (cell.failed_runs == 0) {
      met = cell.runs >= required ? "yes"
                                  : absl::StrCat("not yet (", cell.runs, " runs)");
    }
    absl::StrAppend(&out, "| ", ShortLabel(cell.target), " | `", cell.profiles,
                    "` | ", cell.failed_runs, "/", cell.runs, " | ",
                    absl::StrFormat("%.3f", cell.seconds_per_run), " | ", met,
                    " |\n");
  }
  return out;
}

}  // namespace flaky::bench
