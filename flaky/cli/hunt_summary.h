// The plain-text summary `flaky hunt` prints when it ends: one row per
// (target, test case, profile) with its failure count and rate, and under
// each failing row its signatures with the kept log and the seed.
//
//   std::cout << FormatHuntSummary(result);
//   // flaky: hunt 20261127-184700 done: 40 runs, 12 failed, 120 trials ...
//   // TARGET                          CASE                     PROFILE ...
#ifndef FLAKY_CLI_HUNT_SUMMARY_H_
#define FLAKY_CLI_HUNT_SUMMARY_H_

#include <string>

#include "flaky/runner/hunt.h"

namespace flaky::cli {

// FormatHuntSummary renders `result` (see the file comment); ends in '\n'.
std::string FormatHuntSummary(const runner::HuntResult& result);

}  // namespace flaky::cli

#endif  // FLAKY_CLI_HUNT_SUMMARY_H_
