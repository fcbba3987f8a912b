// A realistic Report for the renderers' tests: the bpo-37224 race test in
// its original and fixed forms under three profiles, with failure text that
// exercises every escaping rule (markup, pipes, ANSI codes, broken UTF-8).
//
//   Report report = SampleReport();
//   absl::StatusOr<std::string> md = RenderMarkdown(report, "report.svg");
#ifndef FLAKY_REPORT_SAMPLE_REPORT_H_
#define FLAKY_REPORT_SAMPLE_REPORT_H_

#include "flaky/report/report.h"

namespace flaky::report {

// SampleReport returns the report described above, judged at max rate 0.1%
// and 95% confidence, with the fix verified under chaos:7. Its verdicts:
// original FLAKY under chaos:7 and cgroup:20, INCONCLUSIVE under none;
// fixed CLEAN under chaos:7 (3000 runs) and INCONCLUSIVE under the others.
Report SampleReport();

}  // namespace flaky::report

#endif  // FLAKY_REPORT_SAMPLE_REPORT_H_
