// The rate chart of the markdown report: one horizontal bar per (target,
// case, profile) with its confidence interval as a whisker, coloured by
// verdict, and a dashed line at the gate's max rate, so a reviewer sees at a
// glance which profile makes the test fail and whether a fix helped.
//
//   absl::StatusOr<std::string> svg = RenderRateChart(report);
//   // write it next to report.md as report.svg; markdown links it
//
// The SVG is a self-contained XML document (no scripts, fonts or external
// references) with a <title> per bar for hover text. Pure and thread-safe.
#ifndef FLAKY_REPORT_SVG_CHART_H_
#define FLAKY_REPORT_SVG_CHART_H_

#include <string>

#include "absl/status/statusor.h"
#include "flaky/report/report.h"

namespace flaky::report {

// RenderRateChart returns the chart as an SVG document. A report without
// rows gives a small chart that says so.
// Errors: InvalidArgument as ComputeRowStats.
absl::StatusOr<std::string> RenderRateChart(const Report& report);

// NiceAxisMax returns the smallest 1, 2 or 5 times a power of ten that is
// >= value (value > 0); the chart's axis ends there.
double NiceAxisMax(double value);

}  // namespace flaky::report

#endif  // FLAKY_REPORT_SVG_CHART_H_
