// Keeping a copy of a run's test.log before Bazel overwrites it: the next
// `bazel test` of the same target reuses bazel-testlogs/<target>/run_K_of_N.
// The store keeps the first failing log of every (target, signature) this
// way, in a directory next to the database (`flaky.db` -> `flaky.db.logs/`).
//
//   FLAKY_ASSIGN_OR_RETURN(
//       std::string kept,
//       KeepLog(run.test_log, "/ws/flaky.db.logs",
//               KeptLogName(trial)));  // "tests_race_x/h1-r7-s0-a1-i0.log"
#ifndef FLAKY_RESULTS_LOG_KEEPER_H_
#define FLAKY_RESULTS_LOG_KEEPER_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "flaky/results/trial.h"

namespace flaky::results {

// kDefaultMaxLogBytes bounds how much of one run's test.log flaky reads
// and keeps (`--max_log_bytes`): a test that writes a gigabyte must not cost
// a gigabyte of memory per run and another on disk.
inline constexpr int64_t kDefaultMaxLogBytes = int64_t{32} << 20;

// ReadLogCapped reads the log at `path` whole when it has at most
// `max_bytes` bytes, and otherwise its first and last max_bytes / 2 bytes
// with a line in between saying how much was cut (the end is where a
// failure's last words and the starve wrapper's record are). NotFound when
// it does not exist; Unavailable when it cannot be read.
absl::StatusOr<std::string> ReadLogCapped(const std::string& path, int64_t max_bytes);

// KeptLogName returns a relative file name for `trial`'s kept log that is
// unique per (hunt, target, run, shard, attempt, repetition) and safe on
// any file system: "<target with / and : as _>/<hunt>-r<run>-s<shard>-
// a<attempt>-i<repetition>.log".
std::string KeptLogName(const Trial& trial);

// KeepLog copies `source` to `logs_dir`/`name`, creating directories as
// needed, and returns the new absolute path; a source over `max_bytes` is
// kept as ReadLogCapped reads it. The copy is written to a temporary name
// and renamed, so a reader never sees half a log. An existing file with
// that name is replaced. NotFound when `source` does not exist; Unavailable
// when it cannot be read or the copy cannot be written (naming the path);
// InvalidArgument for an empty or absolute `name` or one containing "..".
// Thread-safe for distinct names.
absl::StatusOr<std::string> KeepLog(const std::string& source,
                                    const std::string& logs_dir,
                                    absl::string_view name,
                                    int64_t max_bytes = kDefaultMaxLogBytes);

}  // namespace flaky::results

#endif  // FLAKY_RESULTS_LOG_KEEPER_H_
