#include "flaky/cli/hunt_summary.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "flaky/results/hunt_state.h"
#include "flaky/results/summary.h"
#include "flaky/runner/progress.h"

namespace flaky::cli {

std::string FormatHuntSummary(const runner::HuntResult& result) {
  std::string text = absl::StrCat(
      "flaky: hunt ", result.hunt_id, " ", results::HuntStatusName(result.status), ": ",
      result.runs,
      " runs, ", result.failed_runs, " failed, ", result.trials, " trials in ",
      runner::FormatClock(result.elapsed), " (", results::HuntModeName(result.mode), "); store ",
      result.store_path, "\n");
  size_t target_width = 6;
  size_t case_width = 4;
  size_t profile_width = 7;
  for (const results::CaseSummary& c : result.summaries) {
    target_width = std::max(target_width, c.target.size());
    case_width = std::max(case_width, c.test_case.empty() ? 8 : c.test_case.size());
    profile_width = std::max(profile_width, c.profile.size());
  }
  absl::StrAppend(&text, absl::StrFormat("%-*s  %-*s  %-*s  %7s  %7s  %7s\n",
                                         target_width, "TARGET", case_width,
                                         "CASE", profile_width, "PROFILE",
                                         "TRIALS", "FAILED", "RATE"));
  for (const results::CaseSummary& c : result.summaries) {
    const std::string rate =
        c.trials > 0 ? absl::StrFormat("%.1f%%", 100.0 * c.failures / c.trials)
                     : "-";
    absl::StrAppend(
        &text, absl::StrFormat("%-*s  %-*s  %-*s  %7d  %7d  %7s\n",
                               target_width, c.target, case_width,
                               c.test_case.empty() ? "(target)" : c.test_case,
                               profile_width, c.profile, c.trials, c.failures,
                               rate));
    for (const results::SignatureCount& s : c.signatures) {
      absl::StrAppend(&text, "    ", s.count, "x ", s.signature, "\n");
      if (!s.first_log_path.empty()) {
        absl::StrAppend(&text, "       first failing log (run ", s.first_run,
                        "): ", s.first_log_path, "\n");
      }
      if (s.seed) absl::StrAppend(&text, "       chaos seed: ", *s.seed, "\n");
    }
  }
  return text;
}

}  // namespace flaky::cli
