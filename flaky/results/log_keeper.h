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

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "flaky/results/trial.h"

namespace flaky::results {

// KeptLogName returns a relative file name for `trial`'s kept log that is
// unique per (hunt, target, run, shard, attempt, repetition) and safe on
// any file system: "<target with / and : as _>/<hunt>-r<run>-s<shard>-
// a<attempt>-i<repetition>.log".
std::string KeptLogName(const Trial& trial);

// KeepLog copies `source` to `logs_dir`/`name`, creating directories as
// needed, and returns the new absolute path. The copy is written to a
// temporary name and renamed, so a reader never sees half a log. An
// existing file with that name is replaced. NotFound when `source` does not
// exist; Unavailable when it cannot be read or the copy cannot be written
// (naming the path); InvalidArgument for an empty or absolute `name` or
// one containing "..". Thread-safe for distinct names.
absl::StatusOr<std::string> KeepLog(const std::string& source,
                                    const std::string& logs_dir,
                                    absl::string_view name);

}  // namespace flaky::results

#endif  // FLAKY_RESULTS_LOG_KEEPER_H_
