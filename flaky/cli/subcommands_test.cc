#include "flaky/cli/subcommands.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::cli {
namespace {

using ::flaky::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(SplitAtDoubleDash, PassesEverythingAfterTheFirstDashDashThrough) {
  std::vector<std::string> args = {"flaky", "hunt", "//t:a", "--runs=5", "--",
                                   "-c", "opt", "--", "x"};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  SplitArgs split = SplitAtDoubleDash(static_cast<int>(argv.size()), argv.data());
  EXPECT_THAT(split.ours, ElementsAre("hunt", "//t:a", "--runs=5"));
  EXPECT_THAT(split.passthrough, ElementsAre("-c", "opt", "--", "x"));
}

TEST(FindSubcommand, FindsRowsByName) {
  std::vector<Subcommand> table = {
      {"hunt", "TARGETS...", "rerun tests", nullptr, 2, 1},
      {"report", "", "print a report", nullptr, 3, 3}};
  ASSERT_NE(FindSubcommand(table, "report"), nullptr);
  EXPECT_EQ(FindSubcommand(table, "report")->summary, "print a report");
  EXPECT_EQ(FindSubcommand(table, "report")->usage_exit_code, 3);
  EXPECT_EQ(FindSubcommand(table, "hunt")->usage_exit_code, 2);
  EXPECT_EQ(FindSubcommand(table, "hunt")->error_exit_code, 1);
  EXPECT_EQ(FindSubcommand(table, "nope"), nullptr);
  std::string usage = UsageText("flaky", table);
  EXPECT_THAT(usage, HasSubstr("  hunt TARGETS...\n      rerun tests\n"));
  EXPECT_THAT(usage, HasSubstr("FLAKY_<FLAG>"));
}

TEST(SelectSubcommand, TheFirstArgumentNamesTheCommand) {
  std::vector<Subcommand> table = {{"hunt", "", "", nullptr, 2, 1},
                                   {"gate", "", "", nullptr, 3, 3}};
  absl::StatusOr<const Subcommand*> gate = SelectSubcommand(table, {"gate", "//t:a"});
  ASSERT_TRUE(gate.ok()) << gate.status();
  EXPECT_EQ((*gate)->name, "gate");
  EXPECT_THAT(SelectSubcommand(table, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no command given")));
  EXPECT_THAT(SelectSubcommand(table, {"hunnt"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "unknown command 'hunnt': the commands are hunt, gate"));
}

}  // namespace
}  // namespace flaky::cli
