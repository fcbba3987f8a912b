#include "flaky/cli/subcommands.h"

#include <map>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "flaky/base/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

// Flags of this test binary only (a *_test.cc is its own main).
ABSL_FLAG(int, twin_runs, 100, "test flag");
ABSL_FLAG(absl::Duration, twin_budget, absl::ZeroDuration(), "test flag");

namespace flaky::cli {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::function<const char*(const char*)> Env(
    const std::map<std::string, std::string>& values) {
  return [values](const char* name) -> const char* {
    auto it = values.find(name);
    return it == values.end() ? nullptr : it->second.c_str();
  };
}

TEST(SplitAtDoubleDash, PassesEverythingAfterTheFirstDashDashThrough) {
  std::vector<std::string> args = {"flaky", "hunt", "//t:a", "--runs=5", "--",
                                   "-c", "opt", "--", "x"};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  SplitArgs split = SplitAtDoubleDash(static_cast<int>(argv.size()), argv.data());
  ASSERT_EQ(split.flags.size(), 4u);
  EXPECT_EQ(std::string(split.flags[3]), "--runs=5");
  EXPECT_THAT(split.passthrough, ElementsAre("-c", "opt", "--", "x"));
}

TEST(FindSubcommand, FindsRowsByName) {
  std::vector<Subcommand> table = {
      {"hunt", "TARGETS...", "rerun tests", nullptr, std::nullopt},
      {"report", "", "print a report", nullptr, std::nullopt}};
  ASSERT_NE(FindSubcommand(table, "report"), nullptr);
  EXPECT_EQ(FindSubcommand(table, "report")->summary, "print a report");
  EXPECT_EQ(FindSubcommand(table, "nope"), nullptr);
  std::string usage = UsageText("flaky", table);
  EXPECT_THAT(usage, HasSubstr("  hunt TARGETS...\n      rerun tests\n"));
  EXPECT_THAT(usage, HasSubstr("FLAKY_<FLAG>"));
}

TEST(FlagEnvironmentName, UppercasesWithPrefix) {
  EXPECT_EQ(FlagEnvironmentName("until_decided"), "FLAKY_UNTIL_DECIDED");
}

TEST(ApplyEnvironmentTwins, SetsFlagsFromTheirTwins) {
  ASSERT_THAT(ApplyEnvironmentTwins(
                  {"twin_runs", "twin_budget"},
                  Env({{"FLAKY_TWIN_RUNS", "7"}, {"FLAKY_TWIN_BUDGET", "90s"}})),
              IsOk());
  EXPECT_EQ(absl::GetFlag(FLAGS_twin_runs), 7);
  EXPECT_EQ(absl::GetFlag(FLAGS_twin_budget), absl::Seconds(90));
  // Unset twins leave flags alone.
  ASSERT_THAT(ApplyEnvironmentTwins({"twin_runs"}, Env({})), IsOk());
  EXPECT_EQ(absl::GetFlag(FLAGS_twin_runs), 7);
}

TEST(FlagsDefinedIn, ListsTheFlagsOfOneFile) {
  EXPECT_THAT(FlagsDefinedIn("flaky/cli/subcommands_test.cc"),
              ElementsAre("twin_budget", "twin_runs"));
  EXPECT_THAT(FlagsDefinedIn("no/such/file.cc"), ::testing::IsEmpty());
}

TEST(ApplyEnvironmentTwins, BadValueNamesTheVariable) {
  EXPECT_THAT(ApplyEnvironmentTwins({"twin_runs"},
                                    Env({{"FLAKY_TWIN_RUNS", "many"}})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("FLAKY_TWIN_RUNS=many is not a valid "
                                 "--twin_runs")));
  EXPECT_THAT(ApplyEnvironmentTwins({"no_such_flag"}, Env({})),
              StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace flaky::cli
