// How a hunt produced its trials (its mode) and where it stands (its
// status), as enums with the one spelling each has in the store, the
// reports and the console.
//
//   HuntModeName(HuntMode::kInProcessRepeat);        // "in_process_repeat"
//   ParseHuntMode("bazel_runs");                     // HuntMode::kBazelRuns
//   FormatHuntStatus(HuntStatus::kFailed, "bazel test failed (exit 1)");
//   // "failed: bazel test failed (exit 1)", as HuntRecord::status stores it
//   ParseHuntStatus("failed: bazel test failed (exit 1)")->status;  // kFailed
//   FormatHuntStatus(HuntStatus::kAbandoned, AbandonedReason(4242));
//   // "abandoned: its process 4242 died"
#ifndef FLAKY_RESULTS_HUNT_STATE_H_
#define FLAKY_RESULTS_HUNT_STATE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace flaky::results {

// HuntMode is how a hunt's trials were produced.
enum class HuntMode {
  kBazelRuns,        // one Bazel test run per trial of each case
  kInProcessRepeat,  // --gtest_repeat inside each run: cases share a process
  kDirectRuns,       // one fresh process per run, started by flaky itself
                     // after a Bazel build (runner/direct.h)
};

// HuntModeName returns "bazel_runs", "in_process_repeat" or "direct_runs".
absl::string_view HuntModeName(HuntMode mode);

// ParseHuntMode is HuntModeName's inverse; InvalidArgument naming the text
// otherwise.
absl::StatusOr<HuntMode> ParseHuntMode(absl::string_view name);

// HuntStatus is where a hunt stands.
enum class HuntStatus {
  kRunning,      // begun, not finished (or its process died unnoticed yet)
  kDone,         // ran everything it was asked to
  kInterrupted,  // stopped by Ctrl-C or SIGTERM; what completed is stored
  kFailed,       // ended by an error; what completed is stored
  // kAbandoned: its process died without finishing it (SIGKILL, a crash,
  // the machine going down); a later flaky on the same host found it
  // running with its owner gone, stored the runs Bazel had finished
  // (runner/recovery.h) and marked it so.
  kAbandoned,
};

// HuntStatusName returns "running", "done", "interrupted", "failed" or
// "abandoned".
absl::string_view HuntStatusName(HuntStatus status);

// HuntState is a status with the reason an interrupted or failed hunt
// gives ("" when there is none).
struct HuntState {
  HuntStatus status = HuntStatus::kRunning;
  std::string reason;
};

// FormatHuntStatus is how the store records a status: its name, then
// ": " and the reason when there is one ("failed: <reason>").
std::string FormatHuntStatus(HuntStatus status, absl::string_view reason = "");

// AbandonedReason is the reason an abandoned hunt records: "its process
// <pid> died".
std::string AbandonedReason(int64_t pid);

// ParseHuntStatus is FormatHuntStatus's inverse; InvalidArgument naming the
// text for anything else.
absl::StatusOr<HuntState> ParseHuntStatus(absl::string_view text);

}  // namespace flaky::results

#endif  // FLAKY_RESULTS_HUNT_STATE_H_
