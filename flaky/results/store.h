// The trials store: every trial of every hunt in one SQLite database, and
// the per-case summaries stats, reports and metrics are computed from.
//
//   FLAKY_ASSIGN_OR_RETURN(std::unique_ptr<Store> store,
//                          Store::Open("/ws/flaky.db"));
//   FLAKY_RETURN_IF_ERROR(store->BeginHunt(hunt));
//   FLAKY_RETURN_IF_ERROR(store->InsertTrials(trials_of_one_bazel_run));
//   FLAKY_RETURN_IF_ERROR(store->FinishHunt(
//       hunt.id, FormatHuntStatus(HuntStatus::kDone), absl::Now()));
//   Filter filter;
//   filter.hunt_ids = {hunt.id};
//   FLAKY_ASSIGN_OR_RETURN(std::vector<CaseSummary> cases,
//                          store->Summarize(filter));
//
// Durability: WAL journal, synchronous=NORMAL, one transaction per
// InsertTrials batch. A process killed at any point (Ctrl-C, SIGKILL, a
// crash) leaves a consistent database holding exactly the batches whose
// InsertTrials returned, plus possibly the one in flight as a whole; a
// power loss may also lose the last committed batches but never corrupts.
// The schema has a version and ordered migrations, applied in one
// transaction when an older database is opened.
//
// Kept logs: InsertTrials copies the test.log of the first failing trial of
// every (target, failure signature) into `<path>.logs/` (see log_keeper.h),
// because Bazel overwrites bazel-testlogs on the next invocation: call
// InsertTrials for one `bazel test` invocation's trials before starting the
// next one.
//
// Thread-safety: a Store is not thread-safe; give each thread its own (they
// may share a file). Several processes may use one file at once: writers
// wait up to StoreOptions::busy_timeout for each other.
#ifndef FLAKY_RESULTS_STORE_H_
#define FLAKY_RESULTS_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "flaky/results/log_keeper.h"
#include "flaky/results/hunt_state.h"
#include "flaky/results/summary.h"
#include "flaky/results/trial.h"

struct sqlite3;
struct sqlite3_stmt;

namespace flaky::results {

// kStoreSchemaVersion is the schema version this build writes; Open
// migrates older databases to it.
inline constexpr int kStoreSchemaVersion = 3;

// kOldestReadableSchemaVersion is the oldest schema a read-only Open
// accepts as it is (a reader cannot migrate): what later versions added
// reads as unknown (a hunt's owner as 0).
inline constexpr int kOldestReadableSchemaVersion = 2;

// HuntRecord describes one `flaky hunt` invocation.
struct HuntRecord {
  std::string id;  // unique, chosen by the caller (e.g. time + random)
  absl::Time started_at = absl::UnixEpoch();
  std::string command_line;
  std::string commit;  // `git rev-parse HEAD`, or ""
  std::string host;
  std::vector<std::string> profiles;  // as given, e.g. {"none", "cgroup:20"}
  std::string mode;  // HuntModeName (hunt_state.h): "bazel_runs", ...
  // Written by FinishHunt, read back by ListHunts: "running" until then;
  // FormatHuntStatus's text (hunt_state.h), e.g. "failed: <reason>".
  std::string status = std::string(HuntStatusName(HuntStatus::kRunning));
  std::optional<absl::Time> finished_at;
  int64_t trials = 0;  // ListHunts only: trials stored for the hunt
  // The process that runs the hunt: its pid and start time in clock ticks
  // since boot (pids are reused, the pair is not), so a later flaky on
  // `host` can tell a live hunt from one whose process died. 0 when
  // unknown (hunts of stores before schema version 3).
  int64_t owner_pid = 0;
  uint64_t owner_start_ticks = 0;
};

// RunKey names one run of a hunt (one testResult event of Bazel's):
// every trial of the run carries these values, and its first trial
// starts when the run did.
struct RunKey {
  std::string hunt_id;
  std::string target;
  std::string profile;
  int run = 0;
  int shard = 0;  // as Trial::shard: 0-based
  int attempt = 1;
  absl::Time started_at = absl::UnixEpoch();
};

// Filter selects trials; an empty list matches everything.
struct Filter {
  std::vector<std::string> hunt_ids;
  std::vector<std::string> targets;
  std::vector<std::string> profiles;
};

// StoreOptions tunes Open.
struct StoreOptions {
  // busy_timeout is how long a statement waits for another writer.
  absl::Duration busy_timeout = absl::Seconds(30);
  // keep_logs: copy first failing logs (see above). Off in benchmarks.
  bool keep_logs = true;
  // read_only opens an existing store for reading only (`flaky report`,
  // `flaky serve`): nothing is created, migrated or written, so a store
  // the user may only read (another user's, a CI artifact, a read-only
  // mount) can be reported on. Writes then fail with FailedPrecondition.
  bool read_only = false;
  // max_log_bytes caps each kept log (results::ReadLogCapped).
  int64_t max_log_bytes = kDefaultMaxLogBytes;
};

// Store is an open trials database. Movable only through the unique_ptr
// Open returns.
class Store {
 public:
  // Open opens the database at `path`, creating it (and nothing else: the
  // directory must exist) and migrating it to kStoreSchemaVersion.
  // Unavailable when the file cannot be opened or created (naming the
  // path); FailedPrecondition when it is not a SQLite database, or was
  // written by a newer flaky (schema version above kStoreSchemaVersion).
  static absl::StatusOr<std::unique_ptr<Store>> Open(
      const std::string& path, const StoreOptions& options = {});

  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // path is the database file; logs_dir is where kept logs go
  // (`path` + ".logs").
  const std::string& path() const { return path_; }
  std::string logs_dir() const { return path_ + ".logs"; }

  // SchemaVersion reads the schema version recorded in the database.
  absl::StatusOr<int> SchemaVersion();

  // BeginHunt records a new hunt with status "running". AlreadyExists when
  // the id is taken; InvalidArgument for an empty id.
  absl::Status BeginHunt(const HuntRecord& hunt);

  // InsertTrials stores `trials` in one transaction: all or none. Every
  // trial's hunt_id must have been begun (FailedPrecondition otherwise,
  // naming it). Also keeps first failing logs (see above); a log that
  // cannot be copied is not an error: the summary then points at the
  // trial's own log_path. Unavailable for I/O errors (disk full, locked
  // longer than busy_timeout).
  absl::Status InsertTrials(absl::Span<const Trial> trials);

  // InsertNewTrials is InsertTrials for trials some of which may be stored
  // already (recovered from Bazel's build events after the hunt's process
  // died, or recovered twice): it stores, in one transaction, only those
  // whose run key is not stored yet, and returns how many it stored. The
  // key is unique per trial of a run: hunt, target, test case, profile,
  // run, shard, attempt, repetition and start time (Bazel numbers the runs
  // of every round from 1; the start time tells the rounds apart). Two
  // processes recovering the same trials at once store them once. Errors
  // as InsertTrials.
  absl::StatusOr<int64_t> InsertNewTrials(absl::Span<const Trial> trials);

  // RunStored is true when a trial of the run `key` names is stored.
  // Unavailable for I/O errors.
  absl::StatusOr<bool> RunStored(const RunKey& key);

  // FinishHunt sets the hunt's final status (FormatHuntStatus: "done",
  // "interrupted", "failed: <reason>", "abandoned: <reason>") and end
  // time. NotFound for an unknown id.
  absl::Status FinishHunt(absl::string_view hunt_id, absl::string_view status,
                          absl::Time finished_at);

  // ListHunts returns every hunt, oldest first, with its trial count and
  // owner.
  absl::StatusOr<std::vector<HuntRecord>> ListHunts();

  // ListTrials returns the selected trials in execution order: by start
  // time, then run, shard, attempt, repetition, insertion.
  absl::StatusOr<std::vector<Trial>> ListTrials(const Filter& filter);

  // Summarize aggregates the selected trials per (target, test case,
  // profile, hunt mode), ordered by those keys. "Execution order" for
  // trials_to_first_failure and trials_since_last_failure is ListTrials'
  // order, skipped trials not counted. Signatures are most frequent first
  // (ties: earliest first); each carries the message, kept log (else the
  // trial's log_path), seed and run of its first occurrence. Cost: about
  // 0.4-0.7 s of CPU per 100k selected trials (store_benchmark).
  absl::StatusOr<std::vector<CaseSummary>> Summarize(const Filter& filter);

 private:
  Store(std::string path, sqlite3* db, const StoreOptions& options);
  absl::Status Exec(absl::string_view sql);
  absl::Status Migrate();
  // CheckWritable is FailedPrecondition for a store opened read-only.
  absl::Status CheckWritable() const;
  absl::Status SqliteError(absl::string_view what) const;
  // InsertBatch is InsertTrials and, with skip_stored, InsertNewTrials;
  // it returns how many trials it stored.
  absl::StatusOr<int64_t> InsertBatch(absl::Span<const Trial> trials,
                                      bool skip_stored);
  // Stored is true when a trial with `trial`'s run key is stored.
  absl::StatusOr<bool> Stored(const Trial& trial);
  absl::Status InsertOne(const Trial& trial);
  absl::Status KeepFirstLog(const Trial& trial, int64_t trial_id);

  std::string path_;
  sqlite3* db_;
  StoreOptions options_;
  // The database's schema version: kStoreSchemaVersion once migrated; an
  // older readable one for a read-only store.
  int schema_version_ = kStoreSchemaVersion;
  // Prepared once and reused by every batch.
  sqlite3_stmt* insert_trial_ = nullptr;
  sqlite3_stmt* claim_kept_log_ = nullptr;
  sqlite3_stmt* set_kept_log_ = nullptr;
  sqlite3_stmt* unclaim_kept_log_ = nullptr;
  sqlite3_stmt* find_trial_ = nullptr;
};

}  // namespace flaky::results

#endif  // FLAKY_RESULTS_STORE_H_
