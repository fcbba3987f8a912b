#include "flaky/results/hunt_state.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace flaky::results {
namespace {

constexpr HuntMode kModes[] = {HuntMode::kBazelRuns, HuntMode::kInProcessRepeat,
                               HuntMode::kDirectRuns};
constexpr HuntStatus kStatuses[] = {HuntStatus::kRunning, HuntStatus::kDone,
                                    HuntStatus::kInterrupted, HuntStatus::kFailed,
                                    HuntStatus::kAbandoned};

}  // namespace

absl::string_view HuntModeName(HuntMode mode) {
  switch (mode) {
    case HuntMode::kBazelRuns:
      return "bazel_runs";
    case HuntMode::kInProcessRepeat:
      return "in_process_repeat";
    case HuntMode::kDirectRuns:
      return "direct_runs";
  }
  return "bazel_runs";
}

absl::StatusOr<HuntMode> ParseHuntMode(absl::string_view name) {
  for (HuntMode mode : kModes) {
    if (HuntModeName(mode) == name) return mode;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown hunt mode '", name, "': bazel_runs, in_process_repeat or direct_runs"));
}

absl::string_view HuntStatusName(HuntStatus status) {
  switch (status) {
    case HuntStatus::kRunning:
      return "running";
    case HuntStatus::kDone:
      return "done";
    case HuntStatus::kInterrupted:
      return "interrupted";
    case HuntStatus::kFailed:
      return "failed";
    case HuntStatus::kAbandoned:
      return "abandoned";
  }
  return "running";
}

std::string FormatHuntStatus(HuntStatus status, absl::string_view reason) {
  if (reason.empty()) return std::string(HuntStatusName(status));
  return absl::StrCat(HuntStatusName(status), ": ", reason);
}

std::string AbandonedReason(int64_t pid) {
  return absl::StrCat("its process ", pid, " died");
}

absl::StatusOr<HuntState> ParseHuntStatus(absl::string_view text) {
  for (HuntStatus status : kStatuses) {
    const absl::string_view name = HuntStatusName(status);
    if (text == name) return HuntState{status, ""};
    if (absl::StartsWith(text, absl::StrCat(name, ": "))) {
      return HuntState{status, std::string(text.substr(name.size() + 2))};
    }
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown hunt status '", text, "'"));
}

}  // namespace flaky::results
