#include "flaky/runner/store_writer.h"

#include <cstdint>

#include "absl/status/status.h"
#include "base/status_macros.h"

namespace flaky::runner {

StoreWriter::StoreWriter(results::Store& store, Clock& clock, StoreBatching batching)
    : store_(store), clock_(clock), batching_(batching), last_write_(clock.Now()) {}

absl::Status StoreWriter::Accept(absl::Span<const results::Trial> run) {
  pending_.insert(pending_.end(), run.begin(), run.end());
  if (static_cast<int>(pending_.size()) >= batching_.batch_trials ||
      clock_.Now() - last_write_ >= batching_.batch_interval) {
    return Flush();
  }
  return absl::OkStatus();
}

absl::Status StoreWriter::Flush() {
  if (pending_.empty()) return absl::OkStatus();
  FLAKY_RETURN_IF_ERROR(store_.InsertTrials(pending_));
  written_ += static_cast<int64_t>(pending_.size());
  pending_.clear();
  last_write_ = clock_.Now();
  return absl::OkStatus();
}

}  // namespace flaky::runner
