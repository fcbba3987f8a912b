// FindAffectedTests against a real git repository and a real (nested) Bazel:
// a small workspace that uses this checkout as the external repository
// @flaky, its history edited the way merge requests edit it.
#include <stdlib.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status_matchers.h"
#include "flaky/merge_gate/affected.h"
#include "flaky/merge_gate/launcher.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::merge_gate {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class AffectedBazelTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string tmp = getenv("TEST_TMPDIR");
    workspace_ = new std::string(tmp + "/ws");
    output_user_root_ = new std::string(tmp + "/bazel_root");
    // The runfile is a symlink into this checkout; its real path locates
    // the checkout for local_repository.
    std::string marker = absl::StrCat(getenv("TEST_SRCDIR"), "/",
                                      getenv("TEST_WORKSPACE"),
                                      "/flaky/merge_gate/BUILD.bazel");
    char* real = realpath(marker.c_str(), nullptr);
    ASSERT_NE(real, nullptr) << "cannot resolve " << marker;
    std::string checkout(real);
    free(real);
    checkout.resize(checkout.size() - std::string("/flaky/merge_gate/BUILD.bazel").size());

    // git must not read the machine's or the user's configuration.
    setenv("HOME", tmp.c_str(), 1);
    setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
    setenv("GIT_AUTHOR_NAME", "flaky", 1);
    setenv("GIT_AUTHOR_EMAIL", "flaky@example.invalid", 1);
    setenv("GIT_COMMITTER_NAME", "flaky", 1);
    setenv("GIT_COMMITTER_EMAIL", "flaky@example.invalid", 1);

    Run("mkdir -p " + *workspace_, tmp);
    Write("WORKSPACE", absl::StrCat(
        "workspace(name = \"consumer\")\n"
        "local_repository(name = \"flaky\", path = \"", checkout, "\")\n"
        "load(\"@flaky//third_party:repositories.bzl\", \"flaky_dependencies\")\n"
        "flaky_dependencies()\n"));
    Write(".gitignore", "/bazel-*\n");
    Write("lib/BUILD",
          "load(\"@rules_cc//cc:defs.bzl\", \"cc_library\")\n"
          "cc_library(name = \"lib\", srcs = [\"lib.cc\"], hdrs = [\"lib.h\"],\n"
          "           visibility = [\"//visibility:public\"])\n");
    Write("lib/lib.h", "int Answer();\n");
    Write("lib/lib.cc", "int Answer() { return 42; }\n");
    Write("lib/README.md", "The answer.\n");
    Write("app/BUILD",
          "load(\"@rules_cc//cc:defs.bzl\", \"cc_test\")\n"
          "cc_test(name = \"app_test\", srcs = [\"app_test.cc\"], deps = [\"//lib\"])\n"
          "cc_test(name = \"manual_test\", srcs = [\"app_test.cc\"], deps = [\"//lib\"],\n"
          "        tags = [\"manual\"])\n"
          "test_suite(name = \"suite\")\n");
    Write("app/app_test.cc", "int Answer();\nint main() { return Answer() - 42; }\n");
    Write("other/BUILD",
          "load(\"@rules_cc//cc:defs.bzl\", \"cc_test\")\n"
          "cc_test(name = \"other_test\", srcs = [\"other_test.cc\"],\n"
          "        data = glob([\"data/*.txt\"]))\n");
    Write("other/other_test.cc", "int main() { return 0; }\n");
    Write("other/data/input.txt", "input\n");
    Write("tools/defs.bzl", "NOTHING = 1\n");
    Run("git init -q && git add -A && git commit -q -m base && "
        "git tag base");
  }

  static void TearDownTestSuite() {
    // Leave no Bazel server behind.
    Run(absl::StrCat("bazel --output_user_root=", *output_user_root_,
                     " shutdown"));
    delete workspace_;
    delete output_user_root_;
  }

  void SetUp() override {
    // Every test edits a fresh copy of the base commit on its own branch.
    Run("git checkout -q -f -B " +
        std::string(::testing::UnitTest::GetInstance()
                        ->current_test_info()
                        ->name()) +
        " base && git clean -q -f -d");
  }

  static void Write(const std::string& path, const std::string& text) {
    std::string full = *workspace_ + "/" + path;
    Run("mkdir -p \"$(dirname " + full + ")\"");
    std::ofstream(full) << text;
  }

  static void Run(const std::string& script,
                  const std::string& dir = *workspace_) {
    SubprocessLauncher launcher;
    Command command;
    command.argv = {"/bin/sh", "-c", script};
    command.working_dir = dir;
    absl::StatusOr<ProcessResult> result = launcher.Run(command);
    ASSERT_THAT(result, IsOk());
    ASSERT_EQ(result->exit_code, 0)
        << script << "\n" << result->stdout_text << result->stderr_text;
  }

  static absl::StatusOr<AffectedTests> Find(bool include_uncommitted = true,
                                            bool include_manual = false) {
    AffectedOptions options;
    options.workspace_dir = *workspace_;
    options.base_revision = "base";
    options.include_uncommitted = include_uncommitted;
    options.include_manual = include_manual;
    options.bazel_startup_options = {
        absl::StrCat("--output_user_root=", *output_user_root_),
        "--max_idle_secs=120"};
    SubprocessLauncher launcher;
    return FindAffectedTests(options, launcher);
  }

  static std::string* workspace_;
  static std::string* output_user_root_;
};

std::string* AffectedBazelTest::workspace_ = nullptr;
std::string* AffectedBazelTest::output_user_root_ = nullptr;

TEST_F(AffectedBazelTest, LibraryChangeSelectsItsDependentTestsButNotManual) {
  Write("lib/lib.cc", "int Answer() { return 41 + 1; }\n");
  Run("git commit -q -am 'compute the answer'");
  absl::StatusOr<AffectedTests> affected = Find();
  ASSERT_THAT(affected, IsOk());
  EXPECT_THAT(affected->changed_files, ElementsAre("lib/lib.cc"));
  EXPECT_THAT(affected->query_roots, ElementsAre("//lib:lib.cc"));
  EXPECT_THAT(affected->targets, ElementsAre("//app:app_test"));

  affected = Find(/*include_uncommitted=*/true, /*include_manual=*/true);
  ASSERT_THAT(affected, IsOk());
  EXPECT_THAT(affected->targets,
              ElementsAre("//app:app_test", "//app:manual_test"));
}

TEST_F(AffectedBazelTest, UndeclaredFileSelectsNothing) {
  Write("lib/README.md", "The answer, explained.\n");
  Run("git commit -q -am 'docs'");
  absl::StatusOr<AffectedTests> affected = Find();
  ASSERT_THAT(affected, IsOk());
  EXPECT_THAT(affected->changed_files, ElementsAre("lib/README.md"));
  EXPECT_THAT(affected->targets, IsEmpty());
}

TEST_F(AffectedBazelTest, UntrackedFileCountsUnlessCommittedOnly) {
  // Matched by other_test's glob, never committed.
  Write("other/data/extra.txt", "extra\n");
  absl::StatusOr<AffectedTests> affected = Find();
  ASSERT_THAT(affected, IsOk());
  EXPECT_THAT(affected->targets, ElementsAre("//other:other_test"));

  affected = Find(/*include_uncommitted=*/false);
  ASSERT_THAT(affected, IsOk());
  EXPECT_THAT(affected->changed_files, IsEmpty());
  EXPECT_THAT(affected->targets, IsEmpty());
}

TEST_F(AffectedBazelTest, DeletedGlobbedFileSelectsItsPackagesTests) {
  Run("git rm -q other/data/input.txt && git commit -q -m 'drop input'");
  absl::StatusOr<AffectedTests> affected = Find();
  ASSERT_THAT(affected, IsOk());
  EXPECT_THAT(affected->query_roots, ElementsAre("//other:*"));
  EXPECT_THAT(affected->targets, ElementsAre("//other:other_test"));
}

TEST_F(AffectedBazelTest, BuildFileChangeSelectsTestsOfPackageAndDependents) {
  Write("lib/BUILD",
        "load(\"@rules_cc//cc:defs.bzl\", \"cc_library\")\n"
        "cc_library(name = \"lib\", srcs = [\"lib.cc\"], hdrs = [\"lib.h\"],\n"
        "           copts = [\"-O2\"], visibility = [\"//visibility:public\"])\n");
  Run("git commit -q -am 'optimise'");
  absl::StatusOr<AffectedTests> affected = Find();
  ASSERT_THAT(affected, IsOk());
  EXPECT_THAT(affected->query_roots, ElementsAre("//lib:*"));
  EXPECT_THAT(affected->targets, ElementsAre("//app:app_test"));
}

TEST_F(AffectedBazelTest, StarlarkChangeSelectsEveryTest) {
  Write("tools/defs.bzl", "NOTHING = 2\n");
  Run("git commit -q -am 'starlark'");
  absl::StatusOr<AffectedTests> affected = Find();
  ASSERT_THAT(affected, IsOk());
  EXPECT_EQ(affected->all_tests_because, "tools/defs.bzl");
  EXPECT_THAT(affected->targets,
              ElementsAre("//app:app_test", "//other:other_test"));
}

TEST_F(AffectedBazelTest, ChangesAreMeasuredFromTheMergeBase) {
  // The base branch moves on after the change branched off: its new commit
  // is not part of the change (`git diff base...HEAD`).
  Run("git checkout -q -b moved base && echo more > other/data/more.txt && "
      "git add other/data/more.txt && git commit -q -m 'base moves' && "
      "git checkout -q ChangesAreMeasuredFromTheMergeBase");
  Write("lib/lib.h", "int Answer();  // 42\n");
  Run("git commit -q -am 'comment'");
  AffectedOptions options;
  options.workspace_dir = *workspace_;
  options.base_revision = "moved";
  options.bazel_startup_options = {
      absl::StrCat("--output_user_root=", *output_user_root_),
      "--max_idle_secs=120"};
  SubprocessLauncher launcher;
  absl::StatusOr<AffectedTests> affected = FindAffectedTests(options, launcher);
  ASSERT_THAT(affected, IsOk());
  EXPECT_THAT(affected->changed_files, ElementsAre("lib/lib.h"));
  EXPECT_THAT(affected->targets, ElementsAre("//app:app_test"));
}

TEST_F(AffectedBazelTest, BrokenBuildFileFailsLoudly) {
  Write("lib/BUILD", "cc_libary(name = \"lib\")\n");
  Write("lib/lib.cc", "int Answer() { return 43; }\n");
  absl::StatusOr<AffectedTests> affected = Find();
  EXPECT_THAT(affected, StatusIs(absl::StatusCode::kUnavailable,
                                 HasSubstr("bazel query failed")));
  EXPECT_THAT(affected, StatusIs(absl::StatusCode::kUnavailable,
                                 HasSubstr("cc_libary")));
}

TEST_F(AffectedBazelTest, UnknownBaseSaysHowToFetchIt) {
  AffectedOptions options;
  options.workspace_dir = *workspace_;
  options.base_revision = "origin/main";
  SubprocessLauncher launcher;
  EXPECT_THAT(FindAffectedTests(options, launcher),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unknown base revision 'origin/main': git "
                                 "has no such commit here")));
}

}  // namespace
}  // namespace flaky::merge_gate
