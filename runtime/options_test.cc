#include "runtime/options.h"

#include <map>
#include <string>

#include "base/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace subinterp {
namespace {

using ::flaky::testing::StatusIs;
using ::testing::HasSubstr;

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

TEST(OptionsFromEnvironment, DefaultsToFiveMilliseconds) {
  absl::StatusOr<RuntimeOptions> options = OptionsFromEnvironment(FakeEnv({}));
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->switch_interval, absl::Milliseconds(5));
}

TEST(OptionsFromEnvironment, ReadsWholeMicroseconds) {
  for (const auto& [text, want] :
       std::map<std::string, absl::Duration>{{"1", absl::Microseconds(1)},
                                             {"5000", absl::Milliseconds(5)},
                                             {"1000000000", absl::Seconds(1000)}}) {
    absl::StatusOr<RuntimeOptions> options = OptionsFromEnvironment(
        FakeEnv({{"SUBINTERP_SWITCH_INTERVAL_US", text}}));
    ASSERT_TRUE(options.ok()) << text;
    EXPECT_EQ(options->switch_interval, want) << text;
  }
}

TEST(OptionsFromEnvironment, RejectsAnythingButAPositiveInteger) {
  for (const char* bad : {"", "abc", "0", "-5", "1.5", "5ms", " 5", "1000000001",
                          "99999999999999999999"}) {
    EXPECT_THAT(
        OptionsFromEnvironment(FakeEnv({{"SUBINTERP_SWITCH_INTERVAL_US", bad}})),
        StatusIs(absl::StatusCode::kInvalidArgument,
                 HasSubstr(std::string("SUBINTERP_SWITCH_INTERVAL_US=\"") +
                           bad + "\" is not a switch interval: give a whole "
                                 "number of microseconds"))) << bad;
  }
}

TEST(HookPointName, NamesEveryPoint) {
  EXPECT_STREQ(HookPointName(HookPoint::kThreadStarted), "kThreadStarted");
  EXPECT_STREQ(HookPointName(HookPoint::kRunningChecked), "kRunningChecked");
  EXPECT_STREQ(HookPointName(HookPoint::kFramePushed), "kFramePushed");
  EXPECT_STREQ(HookPointName(HookPoint::kBlocking), "kBlocking");
  EXPECT_STREQ(HookPointName(HookPoint::kThreadFinished), "kThreadFinished");
}

}  // namespace
}  // namespace subinterp
