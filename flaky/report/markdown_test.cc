#include "flaky/report/markdown.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "base/status_matchers.h"
#include "flaky/report/sample_report.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::report {
namespace {

using ::flaky::testing::IsOk;
using ::testing::HasSubstr;

// Number of unescaped pipes: the cell separators of a table row.
int Separators(const std::string& line) {
  int count = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '|' && (i == 0 || line[i - 1] != '\\')) ++count;
  }
  return count;
}

TEST(RenderMarkdown, EveryTableRowHasItsHeadersCellCount) {
  absl::StatusOr<std::string> md = RenderMarkdown(SampleReport(), "report.svg");
  ASSERT_THAT(md, IsOk());
  const std::vector<std::string> lines = absl::StrSplit(*md, '\n');
  int tables = 0;
  int expected = -1;
  for (const std::string& line : lines) {
    if (line.empty() || line[0] != '|') {
      expected = -1;
      continue;
    }
    if (expected < 0) {
      expected = Separators(line);
      ++tables;
    }
    EXPECT_EQ(Separators(line), expected) << line;
  }
  EXPECT_EQ(tables, 4);  // two targets, one signature table, one fix table
}

TEST(RenderMarkdown, ShowsRatesVerdictsSignaturesAndTheChart) {
  absl::StatusOr<std::string> md = RenderMarkdown(SampleReport(), "report.svg");
  ASSERT_THAT(md, IsOk());
  EXPECT_THAT(*md, HasSubstr("# bpo-37224: run\\_string while already running\n"));
  EXPECT_THAT(*md, HasSubstr("**Gate: FLAKY** (exit 1): 2 flaky, 3 inconclusive, 1 clean "
                             "of 6 (target, profile) pairs."));
  EXPECT_THAT(*md, HasSubstr("![Flake rate per profile with 95% intervals](report.svg)"));
  // Runs per failure: 500 / 37 = 13.5, interval 1 / the anytime bounds
  // (1 / 0.1207 = 8.28, 1 / 0.04265 = 23.45), rounded outward.
  EXPECT_THAT(*md, HasSubstr("| `chaos:7` | AlreadyRunning.Original | 500 | 37 | 7.4% | "
                             "4.2% to 12.1% | 18.5x \\[4.4x, 76.4x\\] | 13.5 \\[8.2, "
                             "23.5\\] | **FLAKY** |"));
  // 1 / 1.19676e-3 = 835.6 (two-sided anytime upper bound of 0/3400), down.
  EXPECT_THAT(*md, HasSubstr("| `chaos:7` | AlreadyRunning.Fixed | 3400 | 0 | 0% | 0% to "
                             "0.12% | n/a (no failures in either) | \\> 835 | CLEAN |"));
  EXPECT_THAT(*md, HasSubstr("| `chaos:7` | 30 | `AlreadyRunning.Original: RuntimeError "
                             "not raised` | 12 | `/out/logs/original/chaos/run_12.log` | "
                             "`18446744073709551557` |"));
  // The pipe in a signature is escaped, control bytes are gone.
  EXPECT_THAT(*md, HasSubstr("`unrecognized interpreter ID <N> \\| thread"));
  EXPECT_EQ(md->find('\x1b'), std::string::npos);
  EXPECT_THAT(*md, HasSubstr("## Fix verification"));
  EXPECT_THAT(*md, HasSubstr("| 37 of 500 (7.4%) | 0 of 3400 (0%) | 2.98e-34 | **lower** at "
                             "alpha 0.05 |"));
}

TEST(RenderMarkdown, LeavesTheChartOutWithoutAReference) {
  absl::StatusOr<std::string> md = RenderMarkdown(SampleReport(), "");
  ASSERT_THAT(md, IsOk());
  EXPECT_THAT(*md, ::testing::Not(HasSubstr("![")));
}

TEST(RenderMarkdown, SaysHowManyRunsAnUndecidedFixNeeds) {
  Report report = SampleReport();
  FixRequest request;
  request.baseline_target = "//tests/race:already_running_original";
  request.candidate_target = "//tests/race:already_running_fixed";
  request.profile = "none";
  absl::StatusOr<FixComparison> fix = CompareFix(report.rows, request, 0.05);
  ASSERT_THAT(fix, IsOk());
  report.fixes = {*fix};
  absl::StatusOr<std::string> md = RenderMarkdown(report, "");
  ASSERT_THAT(md, IsOk());
  EXPECT_THAT(*md, HasSubstr(" more clean candidate runs would decide |"));
}

}  // namespace
}  // namespace flaky::report
