#include "flaky/metrics/refresh.h"

#include <utility>

#include "base/status_macros.h"
#include "flaky/metrics/boundary.h"

namespace flaky::metrics {

absl::StatusOr<std::shared_ptr<RefreshingCollectable>>
RefreshingCollectable::Create(std::shared_ptr<prometheus::Registry> registry,
                              std::function<absl::Status()> refresh) {
  if (registry == nullptr || !refresh) {
    return absl::InvalidArgumentError(
        "RefreshingCollectable needs a registry and a refresh callback");
  }
  prometheus::Counter* errors = nullptr;
  FLAKY_RETURN_IF_ERROR(CallPrometheus(
      "registering flaky_metrics_refresh_errors_total", [&] {
        errors = &prometheus::BuildCounter()
                      .Name("flaky_metrics_refresh_errors_total")
                      .Help("Scrapes whose refresh from the store failed (the "
                            "other metrics then kept their previous values).")
                      .Register(*registry)
                      .Add({});
      }));
  return std::shared_ptr<RefreshingCollectable>(new RefreshingCollectable(
      std::move(registry), std::move(refresh), errors));
}

std::vector<prometheus::MetricFamily> RefreshingCollectable::Collect() const {
  std::lock_guard<std::mutex> lock(mutex_);
  absl::Status status = refresh_();
  if (!status.ok()) errors_->Increment();
  last_error_ = std::move(status);
  return registry_->Collect();
}

absl::Status RefreshingCollectable::last_error() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_error_;
}

}  // namespace flaky::metrics
