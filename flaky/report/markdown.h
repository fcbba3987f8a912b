// The markdown report for a merge request: per target a table of profiles
// (runs, failures, rate and interval, amplification against `none`,
// verdict), the verdict reasons, the top failure signatures with counts, the
// first failing log and the seed to replay it, the fix verifications, and
// the rate chart (svg_chart.h) linked as an image.
//
//   absl::StatusOr<std::string> md = RenderMarkdown(report, "report.svg");
//
// GitHub, GitLab and Buildkite do not render inline <svg> in markdown (they
// sanitise it away), so the chart is a separate file referenced with
// ![...](svg_reference): write both into one directory (write.h does), or
// pass the URL the CI serves the artifact under. Pure and thread-safe.
#ifndef FLAKY_REPORT_MARKDOWN_H_
#define FLAKY_REPORT_MARKDOWN_H_

#include <string>

#include "absl/status/statusor.h"
#include "flaky/report/report.h"

namespace flaky::report {

// RenderMarkdown renders `report` as GitHub-flavoured markdown. The chart is
// referenced as `svg_reference` (a relative path or a URL); empty leaves it
// out. At most `max_signatures` signatures are listed per row.
// Errors: InvalidArgument as ComputeRowStats.
absl::StatusOr<std::string> RenderMarkdown(const Report& report,
                                           const std::string& svg_reference,
                                           int max_signatures = 3);

}  // namespace flaky::report

#endif  // FLAKY_REPORT_MARKDOWN_H_
