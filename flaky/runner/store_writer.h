// The trial stream's durable sink: trials wait in memory in batches and
// each batch is one store transaction, written when it is full, when it is
// old, and at every Flush (the end of each round, of the hunt, an
// interrupt), so an interrupted hunt keeps every completed trial.
//
//   StoreWriter writer(*store, clock, {.batch_trials = 500,
//                                      .batch_interval = absl::Seconds(2)});
//   FLAKY_RETURN_IF_ERROR(writer.Accept(trials_of_one_run));
//   FLAKY_RETURN_IF_ERROR(writer.Flush());  // before the next `bazel test`
//   writer.written();                       // trials in the store
#ifndef FLAKY_RUNNER_STORE_WRITER_H_
#define FLAKY_RUNNER_STORE_WRITER_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "flaky/results/store.h"
#include "flaky/results/trial.h"
#include "flaky/results/trial_sink.h"
#include "flaky/runner/clock.h"

namespace flaky::runner {

// StoreBatching bounds how long trials wait in memory.
struct StoreBatching {
  int batch_trials = 500;                           // write once this many wait
  absl::Duration batch_interval = absl::Seconds(2);  // or the oldest is this old
};

// StoreWriter writes the trials it accepts to a store in batches. The
// store and clock must outlive it. Not thread-safe: the runner's thread.
class StoreWriter : public results::TrialSink {
 public:
  StoreWriter(results::Store& store, Clock& clock, StoreBatching batching);

  // Accept queues the run's trials and writes the batch when it is due.
  // Errors: the store's (Unavailable, FailedPrecondition); the batch then
  // stays queued for the next Flush.
  absl::Status Accept(absl::Span<const results::Trial> run) override;

  // Flush writes what is queued (nothing to do when nothing is).
  absl::Status Flush() override;

  // written returns how many trials the store holds from this writer.
  int64_t written() const { return written_; }

 private:
  results::Store& store_;
  Clock& clock_;
  const StoreBatching batching_;
  std::vector<results::Trial> pending_;
  absl::Time last_write_;
  int64_t written_ = 0;
};

}  // namespace flaky::runner

#endif  // FLAKY_RUNNER_STORE_WRITER_H_
