#include "flaky/report/terminal.h"

#include <cstdlib>
#include <fstream>
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

TEST(RenderTerminal, AlignsTheTableColumns) {
  absl::StatusOr<std::string> text = RenderTerminal(SampleReport());
  ASSERT_THAT(text, IsOk());
  const std::vector<std::string> lines = absl::StrSplit(*text, '\n');
  ASSERT_GT(lines.size(), 9u);
  EXPECT_EQ(lines[0], "bpo-37224: run_string while already running");
  EXPECT_EQ(lines[1],
            "mode bazel_runs, commit 1a2b3c4d, host ci-worker-7, 2026-11-27 16:00 UTC, "
            "max rate 0.1% at 95%, anytime-valid verdicts and intervals, FLAKY "
            "family-wise over 6 (Holm)");  // 6 rows ran: 2 targets x 3 profiles
  const std::string& header = lines[3];
  ASSERT_EQ(header.rfind("TARGET", 0), 0u) << header;
  // Every column starts at the same offset in every row: the numeric
  // columns end where their header ends, the others start where it starts.
  const size_t profile = header.find("PROFILE");
  const size_t trials_end = header.find("TRIALS") + 6;
  const size_t verdict = header.find("VERDICT");
  for (size_t i = 4; i < 10; ++i) {
    SCOPED_TRACE(lines[i]);
    EXPECT_EQ(lines[i][profile - 2], ' ');
    EXPECT_NE(lines[i][profile], ' ');
    EXPECT_NE(lines[i][trials_end - 1], ' ');
    EXPECT_EQ(lines[i][trials_end], ' ');
    EXPECT_NE(lines[i][verdict], ' ');
  }
  EXPECT_EQ(lines[5],
            "//tests/race:already_running_original  AlreadyRunning.Original  chaos:7      "
            " 500        37  7.4% [4.2%, 12.1%]  18.5x [4.4x, 76.4x]          FLAKY");
}

TEST(RenderTerminal, ListsVerdictsSignaturesAndTheFix) {
  absl::StatusOr<std::string> text = RenderTerminal(SampleReport());
  ASSERT_THAT(text, IsOk());
  EXPECT_THAT(*text, HasSubstr("  FLAKY         //tests/race:already_running_original [chaos:7]: "
                               "AlreadyRunning.Original: 37 of 500 runs failed"));
  EXPECT_THAT(*text, HasSubstr("Gate: FLAKY (exit 1)\n"));
  EXPECT_THAT(*text, HasSubstr("[chaos:7] 30x AlreadyRunning.Original: RuntimeError not "
                               "raised\n      first failing run 12, seed "
                               "18446744073709551557, log "
                               "/out/logs/original/chaos/run_12.log\n"));
  // Terminal escapes from the log are neutralised.
  EXPECT_EQ(text->find('\x1b'), std::string::npos);
  EXPECT_THAT(*text, HasSubstr("original (no readiness check) 37/500 (7.4%) vs fixed "
                               "(readiness check, PR 27240) 0/3400 (0%) under chaos:7: "
                               "candidate fails less often than baseline"));
}

TEST(RenderTerminal, KeepsACopyForHumans) {
  absl::StatusOr<std::string> text = RenderTerminal(SampleReport());
  ASSERT_THAT(text, IsOk());
  if (const char* outputs = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR")) {
    std::ofstream(std::string(outputs) + "/report.txt") << *text;
  }
}

TEST(RenderTerminal, LimitsSignaturesPerRow) {
  absl::StatusOr<std::string> text = RenderTerminal(SampleReport(), 1);
  ASSERT_THAT(text, IsOk());
  EXPECT_THAT(*text, ::testing::Not(HasSubstr("unrecognized interpreter ID")));
}

TEST(RenderTerminal, CutsHugeNamesSoTheTableStaysSmall) {
  // A 1 MB test-case name (the audit's case: 10,000 such rows made a 5 GB
  // report) is cut to kMaxNameChars in the table and the reasons.
  Report report = SampleReport();
  report.rows[0].test_case = std::string(1 << 20, 'x');
  absl::StatusOr<std::string> text = RenderTerminal(report);
  ASSERT_THAT(text, IsOk());
  EXPECT_LT(text->size(), 20000u);
  EXPECT_THAT(*text, HasSubstr(std::string(kMaxNameChars - 3, 'x') + "..."));
}

}  // namespace
}  // namespace flaky::report
