// Writing the reports to files: the markdown report with its chart next to
// it, the JSON and the JUnit XML, under the names the merge gate and the CI
// examples expect (report.md, report.svg, report.json, report.junit.xml).
//
//   absl::StatusOr<ReportFiles> files = WriteReportFiles(report, "flaky-out");
//   // flaky-out/report.md links report.svg, which sits beside it
//
// Each file is written to a temporary name and renamed, so a reader never
// sees half a report. Not thread-safe for the same directory.
#ifndef FLAKY_REPORT_WRITE_H_
#define FLAKY_REPORT_WRITE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "flaky/report/report.h"

namespace flaky::report {

// ReportFiles are the paths written.
struct ReportFiles {
  std::string markdown;
  std::string svg;
  std::string json;
  std::string junit;
};

// WriteReportFiles renders every format and writes them into `dir`
// (created when missing). Errors: InvalidArgument as ComputeRowStats (then
// nothing is written); Unavailable when the directory or a file cannot be
// written (the message names the path and the OS error).
absl::StatusOr<ReportFiles> WriteReportFiles(const Report& report, const std::string& dir);

// WriteMarkdownWithChart writes the markdown report to `markdown_path` and
// its chart beside it with the extension replaced by ".svg" (report.md ->
// report.svg), linked by relative name. Returns the SVG's path.
// Errors: as WriteReportFiles; InvalidArgument when `markdown_path` does not
// end in ".md" (the chart's name would collide or be unclear).
absl::StatusOr<std::string> WriteMarkdownWithChart(const Report& report,
                                                   const std::string& markdown_path);

}  // namespace flaky::report

#endif  // FLAKY_REPORT_WRITE_H_
