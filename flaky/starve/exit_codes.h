// Exit codes of the starve wrapper that are not the test's own, and the
// prefix of its error line, for the runner to tell "the profile could not
// be applied" from "the test failed":
//
//   if (exit_code == flaky::starve::kExitProfileNotApplied) {
//     // test.log holds one line starting with kErrorPrefix saying why
//   }
//
// They follow timeout(1) and env(1): 125 for the tool's own failure, 126
// and 127 for a command that cannot be executed or found. A test that exits
// with one of these itself is indistinguishable, which is why the wrapper
// also writes the error line.
#ifndef FLAKY_STARVE_EXIT_CODES_H_
#define FLAKY_STARVE_EXIT_CODES_H_

#include "absl/strings/string_view.h"

namespace flaky::starve {

// kExitProfileNotApplied: bad flags or profile, or a profile part that could
// not be applied (and --allow_fallback was not given). The test did not run.
inline constexpr int kExitProfileNotApplied = 125;

// kExitCannotExecute: the test command exists but exec failed.
inline constexpr int kExitCannotExecute = 126;

// kExitCommandNotFound: the test command does not exist.
inline constexpr int kExitCommandNotFound = 127;

// kErrorPrefix starts the wrapper's one-line error message on stderr.
inline constexpr absl::string_view kErrorPrefix = "flaky-starve: error: ";

// kWarningPrefix starts a line about a part skipped under --allow_fallback.
inline constexpr absl::string_view kWarningPrefix = "flaky-starve: warning: ";

}  // namespace flaky::starve

#endif  // FLAKY_STARVE_EXIT_CODES_H_
