// What a hunt whose process died leaves behind, and how a later flaky
// settles it. A hunt killed with SIGKILL (or by a crash, or a second
// signal before it could store the last runs) stays `running` in the
// store, and the runs Bazel finished after its last stored batch are only
// in that round's build-event file. Before each round the hunt writes a
// RoundRecord beside the round's BEP file (<store>.hunts/<hunt id>/
// roundN.json next to roundN.bep.json): what AssembleTrials needs besides
// the BEP. The next `flaky hunt` or `flaky report` on the same host finds
// the hunts whose owner process is gone, stores the runs their BEP files
// hold and the store lacks, removes their cgroups, and marks them
// `abandoned: its process <pid> died`.
//
//   // The hunt, before each round's `bazel test`:
//   FLAKY_RETURN_IF_ERROR(WriteRoundRecord(RoundRecordPath(work_dir, 3), record));
//
//   // A later flaky on the same host:
//   FLAKY_ASSIGN_OR_RETURN(std::vector<SettledHunt> settled,
//                          SettleAbandonedHunts(*store, LocalSettleOptions("ci-7", clock)));
//   for (const SettledHunt& hunt : settled) std::cerr << DescribeSettled(hunt) << "\n";
//   // flaky: hunt 20261202-101500-4242 was abandoned (its process 4242 died):
//   //   recovered 12 runs (24 trials) from Bazel's build events
#ifndef FLAKY_RUNNER_RECOVERY_H_
#define FLAKY_RUNNER_RECOVERY_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "flaky/results/log_keeper.h"
#include "flaky/results/store.h"
#include "flaky/runner/clock.h"
#include "flaky/runner/run_trials.h"

namespace flaky::runner {

// RoundRecord is what one round's trials need besides Bazel's build
// events: the context every trial shares (hunt, profile, commit, host,
// in-process repetition) and how the round was asked for.
struct RoundRecord {
  int round = 0;
  RunContext context;
  std::vector<std::string> targets;
  int runs = 0;             // --runs_per_test
  int64_t run_offset = 0;   // runs of the profile's earlier rounds
  int64_t max_log_bytes = results::kDefaultMaxLogBytes;
  std::string bep_path;     // the round's --build_event_json_file
};

// RoundStem is "<work_dir>/round<N>": the round's files are
// RoundStem + ".json" (its RoundRecord), ".bep.json" and ".bazel.log".
std::string RoundStem(absl::string_view work_dir, int round);

// RoundRecordPath is RoundStem(work_dir, round) + ".json".
std::string RoundRecordPath(absl::string_view work_dir, int round);

// WriteRoundRecord writes `record` as JSON to `path`, atomically (a
// reader sees the old file or the whole new one). Unavailable naming the
// path when it cannot be written.
absl::Status WriteRoundRecord(const std::string& path, const RoundRecord& record);

// ReadRoundRecord reads what WriteRoundRecord wrote. NotFound when the file
// does not exist; InvalidArgument naming the path when it is not a round
// record.
absl::StatusOr<RoundRecord> ReadRoundRecord(const std::string& path);

// Recovery is what recovering one hunt's rounds found.
struct Recovery {
  int rounds = 0;         // rounds whose record and build events were read
  int64_t runs = 0;       // finished runs stored now (the store lacked them)
  int64_t trials = 0;     // their trials
  // lost_runs: finished runs the store lacks whose test.xml or test.log is
  // gone or newer than the build-event file (a later Bazel invocation
  // wrote over bazel-testlogs): their results can no longer be read.
  int64_t lost_runs = 0;
  std::vector<std::string> problems;  // rounds that could not be read, why
};

// RecoverHuntRuns reads every round of the hunt in `work_dir` (its
// RoundRecords and BEP files, a truncated last line tolerated) and stores
// the trials of each finished run the store lacks (Store::RunStored, then
// Store::InsertNewTrials, so concurrent recoveries store them once). Runs
// Bazel never ran, runs whose profile could not be applied and runs whose
// outputs stayed in a remote cache are not trials (ReadRun), as in the
// live hunt. A round that cannot be read is a problem, not an error.
// Errors: the store's (Unavailable, FailedPrecondition).
absl::StatusOr<Recovery> RecoverHuntRuns(results::Store& store,
                                         const std::string& work_dir);

// SettleOptions say which hunts are this process's to settle and how.
struct SettleOptions {
  // host: only hunts recorded on this host are judged (a pid means
  // nothing on another machine). The host name stands for the pid
  // namespace: containers that share a store must not share a host name,
  // or one would take the other's live hunts for dead.
  std::string host;
  Clock* clock = nullptr;  // required: finished_at, waits
  // owner_alive says whether the process (pid, start ticks) still runs;
  // unset: OwnerOf (hunt_cgroup.h) finds it with the same start time.
  std::function<bool(int64_t pid, uint64_t start_ticks)> owner_alive;
  // bazel_writing returns the pid of a process still writing `bep_path`
  // (a Bazel client cancelling after its flaky died); unset: the process
  // whose arguments include --build_event_json_file=<bep_path>
  // (ProcessWithArgument).
  std::function<std::optional<int64_t>(const std::string& bep_path)> bazel_writing;
  // bazel_wait bounds the wait for such a Bazel to stop before its
  // hunt's last round is read; after it the hunt is left for later.
  absl::Duration bazel_wait = absl::Seconds(30);
  // cgroup_mount: the cpu hierarchy's mount, where an abandoned hunt's
  // parent group (HuntCgroupParent) is removed; "" leaves cgroups alone.
  std::string cgroup_mount;
};

// LocalSettleOptions are the options for this machine: `host`, `clock`,
// and the writable cpu hierarchy's mount when there is one.
SettleOptions LocalSettleOptions(const std::string& host, Clock& clock);

// FindAbandonedHunts returns the hunts of options.host that are still
// `running` but whose owner is gone (hunts without a recorded owner, from
// before schema version 3, are never judged). Reads only: works on a
// read-only store.
absl::StatusOr<std::vector<results::HuntRecord>> FindAbandonedHunts(
    results::Store& store, const SettleOptions& options);

// A hunt that fails may be unable to store why: on a full disk the store's
// own write fails. Its end note is a file in its work directory whose room
// is taken at the hunt's start (ReserveEndNote), so that the failing hunt
// can still write its reason into it (WriteEndNote, no new blocks needed)
// and the flaky that settles the hunt records that reason instead of
// "its process died".
//
//   ReserveEndNote(work_dir);                      // at the start
//   WriteEndNote(work_dir, "the disk is full: ..."); // when FinishHunt failed
//   ReadEndNote(work_dir);                         // the next flaky

// kEndNoteBytes is the room an end note has; longer reasons are cut.
inline constexpr size_t kEndNoteBytes = 4096;

// ReserveEndNote writes `work_dir`/end_note, kEndNoteBytes of newlines.
// Unavailable when it cannot (the hunt goes on: the note is a fallback).
absl::Status ReserveEndNote(const std::string& work_dir);

// WriteEndNote overwrites the reserved note with `reason` (at most
// kEndNoteBytes), in place. Unavailable when it cannot.
absl::Status WriteEndNote(const std::string& work_dir, absl::string_view reason);

// ReadEndNote returns the note's reason, nullopt when there is none (no
// file, or only the reserved newlines).
std::optional<std::string> ReadEndNote(const std::string& work_dir);

// SettledHunt is what SettleAbandonedHunts did with one hunt.
struct SettledHunt {
  std::string hunt_id;
  int64_t owner_pid = 0;
  // The reason the hunt failed with but could not store (its end note);
  // the hunt is then marked failed with it, not abandoned.
  std::optional<std::string> unstored_failure;
  // settled: its runs were recovered and it is marked abandoned. False
  // when its Bazel was still writing after options.bazel_wait
  // (bazel_pid): it stays `running` for a later flaky to settle.
  bool settled = false;
  int64_t bazel_pid = 0;
  Recovery recovery;
};

// SettleAbandonedHunts settles every hunt FindAbandonedHunts returns: waits
// (up to options.bazel_wait) for a Bazel still writing its last round,
// recovers its runs (RecoverHuntRuns), removes its cgroups, and marks it
// FormatHuntStatus(kAbandoned, AbandonedReason(pid)), or, when its end
// note holds the failure it could not store, FormatHuntStatus(kFailed,
// that reason). Settling twice, or
// in two processes at once, stores nothing twice. Errors: the store's
// (the hunt then stays `running` and a later flaky tries again);
// InvalidArgument without a clock.
absl::StatusOr<std::vector<SettledHunt>> SettleAbandonedHunts(
    results::Store& store, const SettleOptions& options);

// DescribeSettled is one line about a settled (or postponed) hunt, for
// the console, e.g. "flaky: hunt h1 was abandoned (its process 4242
// died): recovered 12 runs (24 trials) from Bazel's build events", plus a
// line per problem.
std::string DescribeSettled(const SettledHunt& hunt);

// ProcessWithArgument returns the pid of a live process (not this one)
// one of whose arguments is exactly `argument`, from /proc; nullopt when
// there is none.
std::optional<int64_t> ProcessWithArgument(absl::string_view argument);

}  // namespace flaky::runner

#endif  // FLAKY_RUNNER_RECOVERY_H_
