#include "flaky/runner/bazel_command.h"

#include <string>
#include <vector>

#include "base/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::runner {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(TestCommand, CarriesRunsWrapperBepAndExtraFlagsInOrder) {
  BazelSetup setup{.bazel = "/usr/bin/bazel",
                   .startup_flags = {"--output_base=/tmp/ob"},
                   .extra_flags = {"-c", "opt", "--symlink_prefix=/"}};
  TestInvocation round{.targets = {"//t:a_test", "//t:b_test"},
                       .profile = "hogs:2",
                       .runs = 50,
                       .wrapper = "//flaky/starve:starve",
                       .bep_path = "/tmp/h/r1.json"};
  EXPECT_THAT(
      TestCommand(setup, round),
      ElementsAre("/usr/bin/bazel", "--output_base=/tmp/ob", "test",
                  "--runs_per_test=50",
                  "--run_under=//flaky/starve:starve --profile=hogs:2 "
                  "--record_file=/dev/null --",
                  "--build_event_json_file=/tmp/h/r1.json",
                  "--build_event_json_file_path_conversion=false",
                  "--nocache_test_results", "--test_output=summary",
                  "--test_summary=terse", "-c", "opt", "--symlink_prefix=/",
                  "--", "//t:a_test", "//t:b_test"));
}

TEST(TestCommand, CgroupProfilesGetTheProcessWrapperStrategyAndParent) {
  TestInvocation round{.targets = {"//t:a_test"},
                       .profile = "cgroup:20",
                       .runs = 3,
                       .wrapper = "@flaky//flaky/starve:starve",
                       .allow_fallback = true,
                       .cgroup_parent = "/sys/fs/cgroup/cpu/flaky-h1",
                       .needs_process_wrapper = true,
                       .bep_path = "/b.json"};
  EXPECT_THAT(TestCommand(BazelSetup{}, round),
              ElementsAre("bazel", "test", "--runs_per_test=3",
                          "--run_under=@flaky//flaky/starve:starve "
                          "--profile=cgroup:20 --allow_fallback "
                          "--cgroup_parent=/sys/fs/cgroup/cpu/flaky-h1 "
                          "--record_file=/dev/null --",
                          "--build_event_json_file=/b.json",
                          "--build_event_json_file_path_conversion=false",
                          "--nocache_test_results", "--test_output=summary",
                          "--test_summary=terse",
                          "--strategy=TestRunner=processwrapper-sandbox", "--",
                          "//t:a_test"));
}

TEST(TestCommand, LaterRoundsPassTheirRunOffsetToTheWrapper) {
  TestInvocation round{.targets = {"//t:a_test"},
                       .profile = "chaos:7",
                       .runs = 10,
                       .wrapper = "//flaky/starve:starve",
                       .run_offset = 20,
                       .bep_path = "/b.json"};
  EXPECT_THAT(TestCommand(BazelSetup{}, round),
              ::testing::Contains("--run_under=//flaky/starve:starve --profile=chaos:7 "
                       "--run_offset=20 --record_file=/dev/null --"));
}

TEST(TestCommand, QuotesProfilesWithShellCharacters) {
  TestInvocation round{.targets = {"//t:a"},
                       .profile = "env:MSG=two words",
                       .wrapper = "//w:w",
                       .bep_path = "/b"};
  EXPECT_THAT(TestCommand(BazelSetup{}, round),
              ::testing::Contains("--run_under=//w:w --profile='env:MSG=two words' "
                                  "--record_file=/dev/null --"));
}

TEST(TestCommand, RepeatAddsGtestRepeatAndNoWrapperOmitsRunUnder) {
  TestInvocation round{.targets = {"//t:a"}, .runs = 2, .repeat = 25,
                       .bep_path = "/b"};
  std::vector<std::string> argv = TestCommand(BazelSetup{}, round);
  EXPECT_THAT(argv, ::testing::Contains("--test_arg=--gtest_repeat=25"));
  for (const std::string& arg : argv) {
    EXPECT_THAT(arg, ::testing::Not(HasSubstr("--run_under")));
  }
}

TEST(BuildCommand, BuildsTargetsAndWrapperWithExtraFlags) {
  BazelSetup setup{.extra_flags = {"--config=tsan"}};
  EXPECT_THAT(BuildCommand(setup, {"//t:a"}, "//flaky/starve:starve"),
              ElementsAre("bazel", "build", "--config=tsan", "--", "//t:a",
                          "//flaky/starve:starve"));
  EXPECT_THAT(BuildCommand(setup, {"//t:a"}, ""),
              ElementsAre("bazel", "build", "--config=tsan", "--", "//t:a"));
}

TEST(QueryTestsCommand, KeepsExplicitTargetsAndDropsManualTestsOfPatterns) {
  BazelSetup setup{.extra_flags = {"-c", "opt"}};
  EXPECT_THAT(
      QueryTestsCommand(setup, {"//t:a", "//u/...", "//v:suite"}),
      ElementsAre("bazel", "query", "--output=label_kind",
                  "set(//t:a //v:suite) + tests(set(//t:a //v:suite)) + "
                  R"((tests(set(//u/...)) except attr("tags", "\bmanual\b", )"
                  "set(//u/...)))"));
  EXPECT_THAT(QueryLabelCommand(setup, "//flaky/starve:starve"),
              ElementsAre("bazel", "query", "//flaky/starve:starve"));
}

TEST(IsTargetPattern, RecognisesWildcards) {
  EXPECT_TRUE(IsTargetPattern("//tests/..."));
  EXPECT_TRUE(IsTargetPattern("//tests:all"));
  EXPECT_TRUE(IsTargetPattern("//tests:*"));
  EXPECT_FALSE(IsTargetPattern("//tests:allowed_test"));
}

TEST(CanonicalLabel, SpellsOutTheImplicitName) {
  EXPECT_EQ(CanonicalLabel("//a/b"), "//a/b:b");
  EXPECT_EQ(CanonicalLabel("a/b:c"), "//a/b:c");
  EXPECT_EQ(CanonicalLabel("//a:c"), "//a:c");
  EXPECT_EQ(CanonicalLabel("@flaky//a/b"), "@flaky//a/b:b");
  EXPECT_EQ(CanonicalLabel("//:t"), "//:t");
}

TEST(ParseLabelKinds, SplitsKindFromLabel) {
  absl::StatusOr<std::vector<LabelKind>> kinds = ParseLabelKinds(
      "cc_test rule //t:a\ntest_suite rule //t:all_tests\n\n");
  ASSERT_THAT(kinds, IsOk());
  ASSERT_EQ(kinds->size(), 2u);
  EXPECT_EQ((*kinds)[0].kind, "cc_test rule");
  EXPECT_EQ((*kinds)[0].label, "//t:a");
  EXPECT_EQ((*kinds)[1].kind, "test_suite rule");
  EXPECT_THAT(ParseLabelKinds("garbage\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("line 1 is not \"KIND LABEL\": garbage")));
}

TEST(SelectTests, ReturnsSortedDistinctTests) {
  std::vector<LabelKind> kinds = {{"sh_test rule", "//t:b"},
                                  {"test_suite rule", "//t:suite"},
                                  {"cc_test rule", "//t:a"},
                                  {"sh_test rule", "//t:b"}};
  absl::StatusOr<std::vector<std::string>> tests =
      SelectTests({"//t:suite", "//t:a"}, kinds);
  ASSERT_THAT(tests, IsOk());
  EXPECT_THAT(*tests, ElementsAre("//t:a", "//t:b"));
}

TEST(SelectTests, RejectsANonTestWithItsKind) {
  std::vector<LabelKind> kinds = {{"cc_library rule", "//flaky/runner:launcher"}};
  EXPECT_THAT(
      SelectTests({"//flaky/runner:launcher"}, kinds),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("//flaky/runner:launcher is a cc_library rule, not a "
                         "test")));
}

TEST(SelectTests, NoTestsIsAnError) {
  EXPECT_THAT(SelectTests({"//empty/..."}, {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("no test targets in //empty/...")));
}

TEST(FirstBazelError, ReturnsTheFirstErrorWithoutLocation) {
  EXPECT_EQ(FirstBazelError(
                "Loading: 0 packages\n"
                "ERROR: no such target '//t:nope': target 'nope' not declared\n"
                "ERROR: later\n"),
            "no such target '//t:nope': target 'nope' not declared");
  EXPECT_EQ(FirstBazelError("ERROR: /ws/t/BUILD:3:8: Compiling t.cc failed\n"),
            "Compiling t.cc failed");
  EXPECT_EQ(FirstBazelError("INFO: a\nlast words\n\n"), "last words");
  EXPECT_EQ(FirstBazelError(""), "");
}

TEST(FirstBazelError, AFullDiskWins) {
  // What Bazel printed on a full disk (the audit's scenario): the later
  // errors are consequences.
  EXPECT_EQ(FirstBazelError("ERROR: //t:x failed to build\n"
                            "FATAL: IOException: /out/bep.json (No space left on device)\n"),
            "the disk is full: FATAL: IOException: /out/bep.json (No space left on device)");
}

}  // namespace
}  // namespace flaky::runner
