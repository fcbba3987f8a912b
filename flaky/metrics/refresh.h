// A collectable that refreshes its metrics right before each scrape, so
// `flaky serve` shows the store as it is when Prometheus asks, without a
// polling thread.
//
//   auto registry = std::make_shared<prometheus::Registry>();
//   ... FlakyMetrics::Create(*registry, options) ...
//   FLAKY_ASSIGN_OR_RETURN(auto refreshing, RefreshingCollectable::Create(
//       registry, [&]() -> absl::Status {
//         FLAKY_ASSIGN_OR_RETURN(auto summaries, store.Summarize(query));
//         return metrics->UpdateSummaries(summaries, Assess(summaries));
//       }));
//   MetricsEndpoint::Start(address, refreshing);
#ifndef FLAKY_METRICS_REFRESH_H_
#define FLAKY_METRICS_REFRESH_H_

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "prometheus/collectable.h"
#include "prometheus/counter.h"
#include "prometheus/metric_family.h"
#include "prometheus/registry.h"

namespace flaky::metrics {

// RefreshingCollectable runs a refresh callback, then collects a registry.
// Thread-safe: concurrent scrapes run the callback one at a time.
class RefreshingCollectable : public prometheus::Collectable {
 public:
  // Create wraps `registry` and registers flaky_metrics_refresh_errors_total
  // in it. InvalidArgument when the registry already holds that name with
  // another type.
  static absl::StatusOr<std::shared_ptr<RefreshingCollectable>> Create(
      std::shared_ptr<prometheus::Registry> registry,
      std::function<absl::Status()> refresh);

  // Collect calls the refresh callback and returns the registry's metrics.
  // When the callback fails, the metrics keep their previous values, the
  // error counter goes up and last_error() keeps the status: a scrape still
  // answers, and an alert on the counter says the numbers are stale.
  std::vector<prometheus::MetricFamily> Collect() const override;

  // last_error returns the latest failed refresh's status (OK when the
  // latest refresh succeeded).
  absl::Status last_error() const;

 private:
  RefreshingCollectable(std::shared_ptr<prometheus::Registry> registry,
                        std::function<absl::Status()> refresh,
                        prometheus::Counter* errors)
      : registry_(std::move(registry)),
        refresh_(std::move(refresh)),
        errors_(errors) {}

  std::shared_ptr<prometheus::Registry> registry_;
  std::function<absl::Status()> refresh_;
  prometheus::Counter* errors_;
  mutable std::mutex mutex_;
  mutable absl::Status last_error_;
};

}  // namespace flaky::metrics

#endif  // FLAKY_METRICS_REFRESH_H_
