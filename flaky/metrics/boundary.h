// The one place where prometheus-cpp's exceptions become absl::Status.
// prometheus-cpp throws std::invalid_argument on bad names, labels and
// bucket boundaries and std::runtime_error (CivetException, curl setup)
// when a server cannot start; flaky's callers handle Status, so every call
// into prometheus-cpp that can throw goes through CallPrometheus.
//
//   absl::Status status = CallPrometheus("registering flaky_trials_total",
//                                        [&] { BuildCounter()...; });
#ifndef FLAKY_METRICS_BOUNDARY_H_
#define FLAKY_METRICS_BOUNDARY_H_

#include <stdexcept>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace flaky::metrics {

// CallPrometheus runs `fn` (returning void) and maps what it throws:
// std::invalid_argument to InvalidArgument, any other std::exception to
// `otherwise` (Internal unless given); the message is "<what>: <exception>".
template <typename F>
absl::Status CallPrometheus(absl::string_view what, F&& fn,
                            absl::StatusCode otherwise =
                                absl::StatusCode::kInternal) {
  try {
    std::forward<F>(fn)();
    return absl::OkStatus();
  } catch (const std::invalid_argument& e) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", e.what()));
  } catch (const std::exception& e) {
    return absl::Status(otherwise, absl::StrCat(what, ": ", e.what()));
  }
}

}  // namespace flaky::metrics

#endif  // FLAKY_METRICS_BOUNDARY_H_
