#include "bench/tables.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "bench/timeline.h"
#include "base/status_macros.h"
#include "flaky/stats/binomial.h"

namespace flaky::bench {

namespace {

using results::Trial;

std::string Seconds(double seconds) {
  return absl::StrFormat(seconds < 10 ? "%.1f" : "%.0f", seconds);
}

std::string MedianCell(const std::optional<Median>& median,
                       bool seconds = true) {
  if (!median) return "-";
  const std::string value =
      seconds ? Seconds(median->value) : absl::StrCat(median->value);
  return median->at_least ? absl::StrCat("> ", value) : value;
}

std::string RateCell(int64_t failures, int64_t trials, double confidence) {
  absl::StatusOr<stats::RateInterval> rate =
      stats::EstimateRate(failures, trials, confidence);
  if (!rate.ok()) return "n/a";
  return absl::StrCat(
      stats::FormatPercent(rate->rate), " [",
      stats::FormatPercent(rate->low, stats::PercentRounding::kDown), ", ",
      stats::FormatPercent(rate->high, stats::PercentRounding::kUp), "]");
}

// Hunts of `section`, in store order, with their parsed names.
std::vector<std::pair<BenchHuntName, const BenchHunt*>> Section(
    const std::vector<BenchHunt>& hunts, absl::string_view section) {
  std::vector<std::pair<BenchHuntName, const BenchHunt*>> selected;
  for (const BenchHunt& hunt : hunts) {
    std::optional<BenchHuntName> name = ParseBenchHuntName(hunt.hunt.id);
    if (name && name->section == section) selected.emplace_back(*name, &hunt);
  }
  return selected;
}

absl::StatusOr<absl::Time> FinishedAt(const results::HuntRecord& hunt) {
  if (!hunt.finished_at) {
    return absl::FailedPreconditionError(absl::StrCat(
        "hunt ", hunt.id, " has no end time (status ", hunt.status,
        "): it was interrupted or is still running"));
  }
  return *hunt.finished_at;
}

// Targets of `trials` in order of first appearance, and each's trials.
std::vector<std::pair<std::string, std::vector<Trial>>> ByTarget(
    const std::vector<Trial>& trials) {
  std::vector<std::pair<std::string, std::vector<Trial>>> targets;
  for (const Trial& trial : trials) {
    auto it = std::find_if(targets.begin(), targets.end(),
                           [&](const auto& t) { return t.first == trial.target; });
    if (it == targets.end()) {
      targets.emplace_back(trial.target, std::vector<Trial>{});
      it = targets.end() - 1;
    }
    it->second.push_back(trial);
  }
  return targets;
}

// The short name of a label: "//tests/race:already_running_original" ->
// "already_running_original".
std::string ShortName(absl::string_view label) {
  const size_t colon = label.rfind(':');
  return std::string(colon == absl::string_view::npos ? label
                                                      : label.substr(colon + 1));
}

// DetectionRow is one (family, target) of the detection table.
struct DetectionRow {
  std::string family;
  std::string target;
  std::string profile;  // of the family's first hunt
  int hunts = 0;
  int hunts_failing = 0;
  int64_t trials = 0;
  int64_t failures = 0;
  std::vector<Observation> trials_to_first_failure = {};
  std::vector<Observation> seconds_to_first_failure = {};
  std::vector<Observation> seconds_to_flaky = {};
  std::vector<Observation> wall = {};
};

}  // namespace

absl::StatusOr<std::vector<BenchHunt>> LoadBenchHunts(
    const std::string& path, const std::vector<std::string>& ids) {
  // Read-only use: copying failing logs is the hunt's business.
  results::StoreOptions options;
  options.keep_logs = false;
  options.read_only = true;
  FLAKY_ASSIGN_OR_RETURN(std::unique_ptr<results::Store> store,
                         results::Store::Open(path, options));
  FLAKY_ASSIGN_OR_RETURN(std::vector<results::HuntRecord> records,
                         store->ListHunts());
  std::vector<BenchHunt> hunts;
  for (results::HuntRecord& record : records) {
    if (!ParseBenchHuntName(record.id)) continue;
    if (!ids.empty() && std::find(ids.begin(), ids.end(), record.id) == ids.end()) {
      continue;
    }
    BenchHunt hunt;
    results::Filter filter;
    filter.hunt_ids = {record.id};
    FLAKY_ASSIGN_OR_RETURN(hunt.trials, store->ListTrials(filter));
    hunt.hunt = std::move(record);
    hunts.push_back(std::move(hunt));
  }
  return hunts;
}

std::optional<BenchHuntName> ParseBenchHuntName(absl::string_view id) {
  const size_t first = id.find('.');
  const size_t last = id.rfind('.');
  if (first == absl::string_view::npos || first == last || first == 0 ||
      last + 1 == id.size() || last == first + 1) {
    return std::nullopt;
  }
  return BenchHuntName{.section = std::string(id.substr(0, first)),
                       .family = std::string(id.substr(first + 1, last - first - 1)),
                       .rep = std::string(id.substr(last + 1))};
}

namespace {

absl::StatusOr<std::vector<DetectionRow>> DetectionRows(
    const std::vector<BenchHunt>& hunts, const stats::GateOptions& gate) {
  std::vector<DetectionRow> rows;
  for (const auto& [name, hunt] : Section(hunts, "detect")) {
    FLAKY_ASSIGN_OR_RETURN(absl::Time finished, FinishedAt(hunt->hunt));
    const double wall = absl::ToDoubleSeconds(finished - hunt->hunt.started_at);
    for (const auto& [target, trials] : ByTarget(hunt->trials)) {
      FLAKY_ASSIGN_OR_RETURN(
          Timeline timeline,
          ReplayHunt(trials, hunt->hunt.started_at, finished, gate));
      auto row = std::find_if(rows.begin(), rows.end(), [&](const DetectionRow& r) {
        return r.family == name.family && r.target == target;
      });
      if (row == rows.end()) {
        rows.push_back({.family = name.family,
                        .target = target,
                        .profile = absl::StrJoin(hunt->hunt.profiles, ",")});
        row = rows.end() - 1;
      }
      ++row->hunts;
      row->trials += timeline.trials;
      row->failures += timeline.failures;
      if (timeline.trials_to_first_failure) {
        ++row->hunts_failing;
        row->trials_to_first_failure.push_back(
            {.value = static_cast<double>(*timeline.trials_to_first_failure)});
        row->seconds_to_first_failure.push_back(
            {.value = absl::ToDoubleSeconds(*timeline.time_to_first_failure)});
      } else {
        row->trials_to_first_failure.push_back(
            {.value = static_cast<double>(timeline.trials), .censored = true});
        row->seconds_to_first_failure.push_back({.value = wall, .censored = true});
      }
      if (timeline.time_to_flaky) {
        row->seconds_to_flaky.push_back(
            {.value = absl::ToDoubleSeconds(*timeline.time_to_flaky)});
      } else {
        row->seconds_to_flaky.push_back({.value = wall, .censored = true});
      }
      row->wall.push_back({.value = wall});
    }
  }
  // Families in the order they ran, targets by name within a family (a
  // hunt's targets come in whatever order their runs finished).
  std::vector<std::string> families;
  for (const DetectionRow& row : rows) {
    if (std::find(families.begin(), families.end(), row.family) == families.end()) {
      families.push_back(row.family);
    }
  }
  auto rank = [&](const DetectionRow& row) {
    return std::make_pair(
        std::find(families.begin(), families.end(), row.family) - families.begin(),
        row.target);
  };
  std::stable_sort(rows.begin(), rows.end(),
                   [&](const DetectionRow& a, const DetectionRow& b) {
                     return rank(a) < rank(b);
                   });
  return rows;
}

}  // namespace

absl::StatusOr<std::string> DetectionTable(const std::vector<BenchHunt>& hunts,
                                           const stats::GateOptions& gate,
                                           absl::string_view baseline_family) {
  FLAKY_ASSIGN_OR_RETURN(std::vector<DetectionRow> rows,
                         DetectionRows(hunts, gate));
  if (rows.empty()) return std::string("No detection hunts in the store.\n");

  std::string out = absl::StrCat(
      "| profile | target | hunts | failures/runs | rate [",
      stats::FormatConfidence(gate.confidence),
      " interval] | hunts with a failure | median runs to 1st failure | "
      "median s to 1st failure | median s to FLAKY | median hunt s |\n"
      "|---|---|---:|---:|---|---:|---:|---:|---:|---:|\n");
  for (const DetectionRow& row : rows) {
    absl::StrAppend(
        &out, "| ", row.family == row.profile
                        ? absl::StrCat("`", row.family, "`")
                        : absl::StrCat(row.family, " (`", row.profile, "`)"),
        " | ", ShortName(row.target), " | ", row.hunts, " | ", row.failures,
        "/", row.trials, " | ", RateCell(row.failures, row.trials, gate.confidence),
        " | ", row.hunts_failing, "/", row.hunts, " | ",
        MedianCell(MedianOf(row.trials_to_first_failure), false), " | ",
        MedianCell(MedianOf(row.seconds_to_first_failure)), " | ",
        MedianCell(MedianOf(row.seconds_to_flaky)), " | ",
        MedianCell(MedianOf(row.wall)), " |\n");
  }

  // The headline, per target: the fastest family to FLAKY against the
  // baseline. Only exact medians can be fastest.
  std::set<std::string> headlined;
  for (const DetectionRow& row : rows) {
    if (!headlined.insert(row.target).second) continue;
    const DetectionRow* best = nullptr;
    std::optional<Median> best_median;
    const DetectionRow* baseline = nullptr;
    for (const DetectionRow& other : rows) {
      if (other.target != row.target) continue;
      if (other.family == baseline_family) {
        baseline = &other;
        continue;
      }
      std::optional<Median> median = MedianOf(other.seconds_to_flaky);
      if (median && !median->at_least &&
          (!best_median || median->value < best_median->value)) {
        best = &other;
        best_median = median;
      }
    }
    absl::StrAppend(&out, "\n", ShortName(row.target), ": ");
    if (best == nullptr || baseline == nullptr) {
      absl::StrAppend(&out, best == nullptr
                                ? "no profile reached FLAKY in most hunts.\n"
                                : "no baseline hunts to compare with.\n");
      continue;
    }
    const std::optional<Median> base = MedianOf(baseline->seconds_to_flaky);
    const double ratio = base->value / std::max(best_median->value, 1e-9);
    absl::StrAppend(
        &out, best->family, " reaches FLAKY in a median ",
        Seconds(best_median->value), " s, `", baseline_family, "` in ",
        base->at_least ? "more than " : "", Seconds(base->value), " s",
        base->at_least ? " (it did not reach FLAKY within its budget in most "
                         "hunts)"
                       : "",
        ": ", base->at_least ? "at least " : "",
        absl::StrFormat("%.1f", ratio), " times faster.\n");
  }
  return out;
}

absl::StatusOr<std::string> BestProfile(const std::vector<BenchHunt>& hunts,
                                        const stats::GateOptions& gate,
                                        absl::string_view baseline_family) {
  FLAKY_ASSIGN_OR_RETURN(std::vector<DetectionRow> rows,
                         DetectionRows(hunts, gate));
  // Per family: the slowest target's median, or nothing when a target's
  // median is not exact.
  std::map<std::string, std::optional<double>> slowest;
  std::vector<std::string> order;
  for (const DetectionRow& row : rows) {
    if (row.family == baseline_family) continue;
    std::optional<Median> median = MedianOf(row.seconds_to_flaky);
    auto [it, inserted] = slowest.emplace(row.family, 0.0);
    if (inserted) order.push_back(row.family);
    if (!median || median->at_least || !it->second) {
      it->second = std::nullopt;
    } else {
      it->second = std::max(*it->second, median->value);
    }
  }
  const DetectionRow* best_row = nullptr;
  std::optional<double> best;
  for (const std::string& family : order) {
    const std::optional<double>& value = slowest[family];
    if (value && (!best || *value < *best)) {
      best = value;
      best_row = &*std::find_if(rows.begin(), rows.end(), [&](const DetectionRow& r) {
        return r.family == family;
      });
    }
  }
  if (best_row == nullptr) {
    return absl::NotFoundError(
        "no detection profile reached FLAKY in most of its hunts");
  }
  return best_row->profile;
}

absl::StatusOr<std::string> VerificationTable(
    const std::vector<BenchHunt>& hunts, const stats::GateOptions& gate) {
  std::string out = absl::StrCat(
      "| how | profile | target | trials | failures | upper bound (",
      stats::FormatConfidence(gate.confidence),
      ") | verdict | trials to CLEAN | s to CLEAN | hunt s |\n"
      "|---|---|---|---:|---:|---:|---|---:|---:|---:|\n");
  bool any = false;
  for (const auto& [name, hunt] : Section(hunts, "verify")) {
    FLAKY_ASSIGN_OR_RETURN(absl::Time finished, FinishedAt(hunt->hunt));
    for (const auto& [target, trials] : ByTarget(hunt->trials)) {
      FLAKY_ASSIGN_OR_RETURN(
          Timeline timeline,
          ReplayHunt(trials, hunt->hunt.started_at, finished, gate));
      FLAKY_ASSIGN_OR_RETURN(
          stats::Judgement judgement,
          stats::Judge(timeline.failures, timeline.trials, gate));
      any = true;
      absl::StrAppend(
          &out, "| ", name.family, " (", hunt->hunt.mode, ") | `",
          absl::StrJoin(hunt->hunt.profiles, ","), "` | ", ShortName(target),
          " | ", timeline.trials, " | ", timeline.failures, " | ",
          stats::FormatPercent(judgement.upper_bound, stats::PercentRounding::kUp),
          " | ", stats::VerdictName(judgement.verdict), " | ",
          timeline.trials_to_clean ? absl::StrCat(*timeline.trials_to_clean) : "-",
          " | ",
          timeline.time_to_clean
              ? Seconds(absl::ToDoubleSeconds(*timeline.time_to_clean))
              : "-",
          " | ", Seconds(absl::ToDoubleSeconds(timeline.wall)), " |\n");
    }
  }
  if (!any) return std::string("No verification hunts in the store.\n");
  return out;
}

absl::StatusOr<std::string> ThroughputTable(const std::vector<BenchHunt>& hunts) {
  std::string out =
      "| how | Bazel runs | trials | hunt s | trials/s (whole hunt) | "
      "trials/s (while tests ran) |\n|---|---:|---:|---:|---:|---:|\n";
  bool any = false;
  for (const auto& [name, hunt] : Section(hunts, "throughput")) {
    FLAKY_ASSIGN_OR_RETURN(absl::Time finished, FinishedAt(hunt->hunt));
    if (hunt->trials.empty()) continue;
    std::set<std::tuple<std::string, int, int, int>> runs;
    absl::Time first_start = absl::InfiniteFuture();
    absl::Time last_end = absl::InfinitePast();
    for (const Trial& trial : hunt->trials) {
      runs.insert({trial.target, trial.run, trial.shard, trial.attempt});
      first_start = std::min(first_start, trial.started_at);
      last_end = std::max(last_end, trial.started_at + trial.duration);
    }
    const double wall = absl::ToDoubleSeconds(finished - hunt->hunt.started_at);
    const double running = absl::ToDoubleSeconds(last_end - first_start);
    const double trials = static_cast<double>(hunt->trials.size());
    any = true;
    absl::StrAppend(&out, "| `flaky hunt` ", name.family, " (", hunt->hunt.mode,
                    ") | ", runs.size(), " | ", hunt->trials.size(), " | ",
                    Seconds(wall), " | ",
                    absl::StrFormat("%.1f", trials / std::max(wall, 1e-9)), " | ",
                    absl::StrFormat("%.1f", trials / std::max(running, 1e-9)),
                    " |\n");
  }
  if (!any) return std::string("No throughput hunts in the store.\n");
  return out;
}

}  // namespace flaky::bench
