// The terminal summary of a report: an aligned table (target, case,
// profile, trials, failures, rate [low, high], verdict), the verdict per
// (target, profile) with its reason, the top failure signatures and the fix
// verifications. What `flaky report`, `flaky gate` and `flaky hunt` print.
//
//   absl::StatusOr<std::string> text = RenderTerminal(report);
//   std::cout << *text;
//
// Plain text without colour codes, so it reads the same in a CI log.
// Pure and thread-safe.
#ifndef FLAKY_REPORT_TERMINAL_H_
#define FLAKY_REPORT_TERMINAL_H_

#include <string>

#include "absl/status/statusor.h"
#include "flaky/report/report.h"

namespace flaky::report {

// RenderTerminal renders `report` for a terminal. At most
// `max_signatures` signatures are listed per row (most frequent first).
// Errors: InvalidArgument as ComputeRowStats.
absl::StatusOr<std::string> RenderTerminal(const Report& report,
                                           int max_signatures = 3);

}  // namespace flaky::report

#endif  // FLAKY_REPORT_TERMINAL_H_
