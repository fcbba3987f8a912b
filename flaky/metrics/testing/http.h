// A small HTTP client for flaky's metrics tests (libcurl underneath): GET a
// URL with a timeout, and poll one until a predicate holds or a deadline
// passes. Tests use it to scrape /metrics and to query Prometheus's API.
//
//   FLAKY_ASSIGN_OR_RETURN(HttpResponse r, HttpGet("http://127.0.0.1:9090/-/ready"));
//   if (r.code != 200) ...
#ifndef FLAKY_METRICS_TESTING_HTTP_H_
#define FLAKY_METRICS_TESTING_HTTP_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace flaky::metrics::testing {

// HttpResponse is a status code and a body.
struct HttpResponse {
  long code = 0;
  std::string body;
};

// HttpGet fetches `url`. Unavailable when no answer arrives within
// `timeout` (connection refused, reset, timed out).
absl::StatusOr<HttpResponse> HttpGet(absl::string_view url,
                                     absl::Duration timeout = absl::Seconds(10));

// UrlEncode percent-encodes `text` for a query parameter.
std::string UrlEncode(absl::string_view text);

// PollUntil calls `attempt` every `interval` until it returns true, or
// returns DeadlineExceeded, with `what` and the last attempt's note, once
// `deadline` passes. `attempt` may write a note on why it is not done yet.
absl::Status PollUntil(absl::string_view what, absl::Duration deadline,
                       const std::function<bool(std::string* note)>& attempt,
                       absl::Duration interval = absl::Milliseconds(100));

}  // namespace flaky::metrics::testing

#endif  // FLAKY_METRICS_TESTING_HTTP_H_
