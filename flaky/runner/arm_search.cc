#include "flaky/runner/arm_search.h"

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"

namespace flaky::runner {
namespace {

double Score(const Arm& arm) {
  return (static_cast<double>(arm.failed_runs) + 0.5) /
         (static_cast<double>(arm.runs) + 1.0);
}

absl::Duration PerRun(const Arm& arm) {
  return arm.runs == 0 ? absl::InfiniteDuration() : arm.wall / arm.runs;
}

}  // namespace

std::vector<std::string> AutoArms(uint64_t seed) {
  const std::string s = absl::StrCat(seed);
  return {absl::StrCat("chaos:", s), absl::StrCat("sched:", s), "hogs:2",
          "cgroup:20", absl::StrCat("taskset:0+chaos:", s)};
}

ArmSearch::ArmSearch(std::vector<std::string> profiles) {
  for (std::string& profile : profiles) {
    Arm arm;
    arm.profile = std::move(profile);
    arms_.push_back(std::move(arm));
  }
}

Arm* ArmSearch::Find(const std::string& profile) {
  for (Arm& arm : arms_) {
    if (arm.profile == profile) return &arm;
  }
  return nullptr;
}

absl::Status ArmSearch::Record(const std::string& profile, int64_t runs,
                               int64_t failed_runs, absl::Duration wall) {
  Arm* arm = Find(profile);
  if (arm == nullptr) {
    return absl::NotFoundError(absl::StrCat(profile, " is not an arm of the search"));
  }
  arm->runs += runs;
  arm->failed_runs += failed_runs;
  arm->wall += wall;
  return absl::OkStatus();
}

absl::Status ArmSearch::Skip(const std::string& profile, const std::string& reason) {
  Arm* arm = Find(profile);
  if (arm == nullptr) {
    return absl::NotFoundError(absl::StrCat(profile, " is not an arm of the search"));
  }
  arm->active = false;
  arm->skipped = reason;
  return absl::OkStatus();
}

void ArmSearch::EndPass() {
  ++passes_;
  std::vector<size_t> active;
  for (size_t i = 0; i < arms_.size(); ++i) {
    if (arms_[i].active) active.push_back(i);
  }
  if (active.size() <= 1) return;
  std::stable_sort(active.begin(), active.end(), [&](size_t a, size_t b) {
    const double sa = Score(arms_[a]);
    const double sb = Score(arms_[b]);
    if (sa != sb) return sa > sb;
    return PerRun(arms_[a]) < PerRun(arms_[b]);
  });
  const size_t keep = (active.size() + 1) / 2;
  for (size_t rank = keep; rank < active.size(); ++rank) {
    arms_[active[rank]].active = false;
    arms_[active[rank]].eliminated_after_pass = passes_;
  }
}

absl::Status ArmSearch::Choose(const std::string& profile) {
  if (Find(profile) == nullptr) {
    return absl::NotFoundError(absl::StrCat(profile, " is not an arm of the search"));
  }
  chosen_ = profile;
  for (Arm& arm : arms_) {
    if (arm.profile != profile && arm.active) {
      arm.active = false;
      arm.eliminated_after_pass = passes_;
    }
  }
  return absl::OkStatus();
}

absl::Status ArmSearch::Settle(const std::string& profile,
                               std::vector<std::string> targets) {
  Arm* arm = Find(profile);
  if (arm == nullptr) {
    return absl::NotFoundError(absl::StrCat(profile, " is not an arm of the search"));
  }
  arm->active = false;
  arm->settled_targets = std::move(targets);
  return absl::OkStatus();
}

absl::Status ArmSearch::Revive(const std::string& profile) {
  Arm* arm = Find(profile);
  if (arm == nullptr) {
    return absl::NotFoundError(absl::StrCat(profile, " is not an arm of the search"));
  }
  if (arm->eliminated_after_pass == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(profile, " was not dropped: it is active, skipped or settled"));
  }
  arm->active = true;
  arm->eliminated_after_pass = 0;
  chosen_.reset();
  return absl::OkStatus();
}

std::vector<std::string> ArmSearch::Active() const {
  std::vector<std::string> active;
  for (const Arm& arm : arms_) {
    if (arm.active) active.push_back(arm.profile);
  }
  return active;
}

std::optional<std::string> ArmSearch::Winner() const {
  if (chosen_.has_value()) return chosen_;
  const std::vector<std::string> active = Active();
  if (active.size() == 1) return active.front();
  return std::nullopt;
}

std::string ArmSearch::Describe() const {
  std::string text = "auto: ";
  const std::optional<std::string> winner = Winner();
  absl::StrAppend(&text, winner.has_value() ? absl::StrCat("winner ", *winner)
                                            : std::string("no winner"),
                  " after ", passes_, passes_ == 1 ? " pass" : " passes", "\n");
  for (const Arm& arm : arms_) {
    absl::StrAppend(&text, "  ", arm.profile, ": ", arm.failed_runs, " of ", arm.runs,
                    " runs failed");
    if (arm.skipped.has_value()) {
      absl::StrAppend(&text, ", skipped: ", *arm.skipped);
    } else if (!arm.settled_targets.empty()) {
      absl::StrAppend(&text, ", settled ", absl::StrJoin(arm.settled_targets, " "),
                      " first");
    } else if (winner.has_value() && arm.profile == *winner) {
      absl::StrAppend(&text, ", the winner");
    } else if (arm.eliminated_after_pass > 0) {
      absl::StrAppend(&text, ", dropped after pass ", arm.eliminated_after_pass);
    }
    absl::StrAppend(&text, "\n");
  }
  return text;
}

}  // namespace flaky::runner
