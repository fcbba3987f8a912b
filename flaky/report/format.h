// Shared formatting of report cells, so every format shows the same
// numbers the same way.
//
//   RateCell(stats);       // "7.4% [5.4%, 10.1%]"
//   MetadataLine(report);  // "mode bazel_runs, commit 1a2b3c4d, host ..."
//
// Pure and thread-safe.
#ifndef FLAKY_REPORT_FORMAT_H_
#define FLAKY_REPORT_FORMAT_H_

#include <optional>
#include <string>

#include "absl/time/time.h"
#include "flaky/report/report.h"
#include "flaky/stats/compare.h"
#include "flaky/stats/verdict.h"

namespace flaky::report {

// RateCell is "rate [low, high]" with the bounds rounded outward, or "n/a"
// for a row without trials.
std::string RateCell(const RowStats& stats);

// VerdictCell is the verdict's name, or "-" when the row was not judged.
std::string VerdictCell(const std::optional<stats::Verdict>& verdict);

// AmplificationCell is FormatRatio of the amplification, or "-".
std::string AmplificationCell(const RowStats& stats);

// RunsPerFailureCell is the expected runs per failure with its interval,
// "13.5 [10, 18.5]", or "> 1353" (1 / the upper bound) when nothing failed,
// or "n/a" without trials. Bounds round outward.
std::string RunsPerFailureCell(const RowStats& stats);

// FormatDate renders a time as "2026-11-27 16:00 UTC".
std::string FormatDate(absl::Time date);

// MetadataLine is "mode M, commit C, host H, 2026-11-27 16:00 UTC, max rate
// 0.1% at 95%, anytime-valid verdicts and intervals, FLAKY family-wise over
// 6 (Holm)" (empty parts left out).
std::string MetadataLine(const Report& report);

// FixLine is one sentence on a fix verification: both sides' counts and
// rates, the one-sided Fisher p-value and the decision or the advice.
std::string FixLine(const FixComparison& fix);

}  // namespace flaky::report

#endif  // FLAKY_REPORT_FORMAT_H_
