#include "flaky/cli/flags.h"

#include <map>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "base/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

// Flags of this test binary only (a *_test.cc is its own main).
ABSL_FLAG(int, twin_runs, 100, "test flag");
ABSL_FLAG(absl::Duration, twin_budget, absl::ZeroDuration(), "test flag");
ABSL_FLAG(bool, twin_until_decided, false, "test flag");
ABSL_FLAG(std::vector<std::string>, twin_profiles, {"none"}, "test flag");
ABSL_FLAG(int, not_known, 0, "registered, but not in the known list");

namespace flaky::cli {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::vector<std::string> kKnown = {"twin_budget", "twin_profiles",
                                         "twin_runs", "twin_until_decided"};

std::function<const char*(const char*)> Env(
    const std::map<std::string, std::string>& values) {
  return [values](const char* name) -> const char* {
    auto it = values.find(name);
    return it == values.end() ? nullptr : it->second.c_str();
  };
}

class ParseFlagsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::SetFlag(&FLAGS_twin_runs, 100);
    absl::SetFlag(&FLAGS_twin_budget, absl::ZeroDuration());
    absl::SetFlag(&FLAGS_twin_until_decided, false);
    absl::SetFlag(&FLAGS_twin_profiles, {"none"});
  }
};

TEST_F(ParseFlagsTest, SetsFlagsInEveryFormAndKeepsPositionalsInOrder) {
  ParsedFlags parsed = ParseFlags(
      {"hunt", "--twin_runs=7", "//t:a", "-twin_budget", "90s",
       "--twin_until_decided", "--twin_profiles=none,chaos:1", "//t:b"},
      kKnown);
  ASSERT_THAT(parsed.status, IsOk());
  EXPECT_THAT(parsed.positional, ElementsAre("hunt", "//t:a", "//t:b"));
  EXPECT_FALSE(parsed.help);
  EXPECT_EQ(absl::GetFlag(FLAGS_twin_runs), 7);
  EXPECT_EQ(absl::GetFlag(FLAGS_twin_budget), absl::Seconds(90));
  EXPECT_TRUE(absl::GetFlag(FLAGS_twin_until_decided));
  EXPECT_THAT(absl::GetFlag(FLAGS_twin_profiles), ElementsAre("none", "chaos:1"));

  parsed = ParseFlags({"--notwin_until_decided", "-"}, kKnown);
  ASSERT_THAT(parsed.status, IsOk());
  EXPECT_FALSE(absl::GetFlag(FLAGS_twin_until_decided));
  EXPECT_THAT(parsed.positional, ElementsAre("-"));
}

TEST_F(ParseFlagsTest, UnknownFlagIsNamedWithTheClosestKnownOne) {
  ParsedFlags parsed = ParseFlags({"gate", "--twin_runz=5", "//t:a"}, kKnown);
  EXPECT_THAT(parsed.status,
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "unknown flag --twin_runz (did you mean --twin_runs?)"));
  // Parsing goes on, so the command is known for its exit code.
  EXPECT_THAT(parsed.positional, ElementsAre("gate", "//t:a"));
  EXPECT_THAT(ParseFlags({"--bogus"}, kKnown).status,
              StatusIs(absl::StatusCode::kInvalidArgument, "unknown flag --bogus"));
  // Registered but not the program's: absl's --flagfile would bypass twins.
  EXPECT_THAT(ParseFlags({"--not_known=1"}, kKnown).status,
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unknown flag --not_known")));
  EXPECT_THAT(ParseFlags({"--notwin_runs"}, kKnown).status,
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unknown flag --notwin_runs")));
}

TEST_F(ParseFlagsTest, BadValueNamesTheFlagAndTheFirstErrorWins) {
  ParsedFlags parsed =
      ParseFlags({"gate", "--twin_runs=abc", "--bogus", "//t:a"}, kKnown);
  EXPECT_THAT(parsed.status, StatusIs(absl::StatusCode::kInvalidArgument,
                                      HasSubstr("--twin_runs=abc is not a valid "
                                                "--twin_runs")));
  EXPECT_THAT(parsed.positional, ElementsAre("gate", "//t:a"));
  EXPECT_EQ(absl::GetFlag(FLAGS_twin_runs), 100);
  EXPECT_THAT(ParseFlags({"--twin_until_decided=maybe"}, kKnown).status,
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--twin_until_decided=maybe is not a valid")));
  EXPECT_THAT(ParseFlags({"--twin_budget"}, kKnown).status,
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "flag --twin_budget needs a value: --twin_budget=VALUE"));
}

TEST_F(ParseFlagsTest, HelpIsAskedFor) {
  EXPECT_TRUE(ParseFlags({"gate", "--help"}, kKnown).help);
  EXPECT_TRUE(ParseFlags({"-h"}, kKnown).help);
  EXPECT_TRUE(ParseFlags({"--helpfull"}, kKnown).help);
  EXPECT_EQ(FlagsHelp({"twin_runs"}), "  --twin_runs=100\n      test flag\n");
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
  EXPECT_THAT(FlagsDefinedIn("flaky/cli/flags_test.cc"),
              ElementsAre("not_known", "twin_budget", "twin_profiles",
                          "twin_runs", "twin_until_decided"));
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
