#include "flaky/merge_gate/affected.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "base/status_matchers.h"
#include "flaky/merge_gate/scripted_launcher.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::merge_gate {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// A workspace on disk (the selection looks at which files exist and where
// the BUILD files are); git and bazel are scripted.
//   WORKSPACE, lib/BUILD, lib/lib.cc, lib/README.md, app/BUILD.bazel,
//   app/app_test.cc, app/testdata/in.txt (no BUILD in testdata), docs/x.md
std::string MakeWorkspace(const std::string& name) {
  std::string root = std::string(getenv("TEST_TMPDIR")) + "/" + name;
  for (const char* dir : {"", "/lib", "/app", "/app/testdata", "/docs"}) {
    mkdir((root + dir).c_str(), 0755);
  }
  WriteFile(root + "/WORKSPACE", "");
  WriteFile(root + "/lib/BUILD", "");
  WriteFile(root + "/lib/lib.cc", "");
  WriteFile(root + "/lib/README.md", "");
  WriteFile(root + "/app/BUILD.bazel", "");
  WriteFile(root + "/app/app_test.cc", "");
  WriteFile(root + "/app/testdata/in.txt", "");
  WriteFile(root + "/docs/x.md", "");
  return root;
}

std::string Nul(const std::vector<std::string>& paths) {
  std::string text;
  for (const std::string& path : paths) text += path + '\0';
  return text;
}

// A repository whose base is known, with `diff` as the changed files and
// `untracked` as the untracked ones; bazel query answers the listing query
// with `declared` and the test query with `tests`.
ScriptedLauncher::Handler Repository(std::vector<std::string> diff,
                                     std::vector<std::string> untracked,
                                     std::string declared, std::string tests) {
  return [=](const std::string& args, const std::string& query) {
    if (args == "git rev-parse --is-inside-work-tree") return Exit(0, "true\n");
    if (args == "git rev-parse --verify --quiet origin/main^{commit}") {
      return Exit(0, "1111111111111111111111111111111111111111\n");
    }
    if (args == "git merge-base 1111111111111111111111111111111111111111 HEAD") {
      return Exit(0, "2222222222222222222222222222222222222222\n");
    }
    if (absl::StartsWith(args, "git diff")) return Exit(0, Nul(diff));
    if (absl::StartsWith(args, "git ls-files")) return Exit(0, Nul(untracked));
    if (absl::StartsWith(args, "bazel ") && absl::StrContains(args, " query ")) {
      return Exit(0, absl::StartsWith(query, "set(") ? declared : tests);
    }
    return Exit(99, "", "unexpected command: " + args);
  };
}

AffectedOptions Options(const std::string& workspace) {
  AffectedOptions options;
  options.workspace_dir = workspace;
  options.base_revision = "origin/main";
  return options;
}

TEST(SelectsAllTests, WorkspaceFilesThirdPartyAndStarlark) {
  EXPECT_TRUE(SelectsAllTests("WORKSPACE"));
  EXPECT_TRUE(SelectsAllTests("WORKSPACE.bazel"));
  EXPECT_TRUE(SelectsAllTests("MODULE.bazel"));
  EXPECT_TRUE(SelectsAllTests(".bazelrc"));
  EXPECT_TRUE(SelectsAllTests(".bazelversion"));
  EXPECT_TRUE(SelectsAllTests("third_party/absl.BUILD"));
  EXPECT_TRUE(SelectsAllTests("tools/defs.bzl"));
  EXPECT_FALSE(SelectsAllTests("lib/lib.cc"));
  EXPECT_FALSE(SelectsAllTests("lib/BUILD"));
  // Only the root's WORKSPACE is this workspace's; a nested one is data.
  EXPECT_FALSE(SelectsAllTests("tests/data/WORKSPACE"));
  EXPECT_FALSE(SelectsAllTests("docs/third_party/x.md"));
}

TEST(PackageOf, NearestDirectoryWithABuildFile) {
  std::string root = MakeWorkspace("package_of");
  std::string package;
  ASSERT_TRUE(PackageOf(root, "lib/lib.cc", &package));
  EXPECT_EQ(package, "lib");
  ASSERT_TRUE(PackageOf(root, "app/testdata/in.txt", &package));
  EXPECT_EQ(package, "app");
  ASSERT_TRUE(PackageOf(root, "app/BUILD.bazel", &package));
  EXPECT_EQ(package, "app");
  // Deleted files still have a package: the one their directory is in.
  ASSERT_TRUE(PackageOf(root, "lib/gone/gone.cc", &package));
  EXPECT_EQ(package, "lib");
  EXPECT_FALSE(PackageOf(root, "docs/x.md", &package));
  EXPECT_FALSE(PackageOf(root, "README.md", &package));
}

TEST(PackageOf, RootPackageIsEmpty) {
  std::string root = MakeWorkspace("root_package");
  WriteFile(root + "/BUILD.bazel", "");
  std::string package = "unset";
  ASSERT_TRUE(PackageOf(root, "docs/x.md", &package));
  EXPECT_EQ(package, "");
}

TEST(AffectedTestsQuery, RdepsOfRootsWithoutManualTests) {
  EXPECT_EQ(AffectedTestsQuery({"//lib:lib.cc", "//app:*"}, "//...", false),
            "let t = kind(\".*_test rule\", rdeps(//..., set(\"//lib:lib.cc\" "
            "\"//app:*\"))) in $t except attr(tags, \"[\\[ ]manual[,\\]]\", $t)");
}

TEST(AffectedTestsQuery, AllTestsWithManual) {
  EXPECT_EQ(AffectedTestsQuery({}, "//src/...", true),
            "kind(\".*_test rule\", //src/...)");
}

TEST(FindAffectedTests, MapsChangedFilesToLabelsAndQueriesTheirTests) {
  std::string root = MakeWorkspace("maps");
  ScriptedLauncher launcher(Repository(
      {"lib/lib.cc", "lib/README.md", "docs/x.md"}, {},
      "//lib:lib\n//lib:lib.cc\n//lib:BUILD\n", "//app:b_test\n//app:a_test\n"));
  absl::StatusOr<AffectedTests> affected =
      FindAffectedTests(Options(root), launcher);
  ASSERT_THAT(affected, IsOk());
  EXPECT_EQ(affected->merge_base, "2222222222222222222222222222222222222222");
  EXPECT_THAT(affected->changed_files,
              ElementsAre("docs/x.md", "lib/README.md", "lib/lib.cc"));
  // README.md is in package lib but no target declares it; docs/ has no
  // package at all.
  EXPECT_THAT(affected->query_roots, ElementsAre("//lib:lib.cc"));
  EXPECT_THAT(affected->targets, ElementsAre("//app:a_test", "//app:b_test"));
  EXPECT_TRUE(affected->all_tests_because.empty());
  ASSERT_EQ(launcher.queries.size(), 2u);
  EXPECT_EQ(launcher.queries[0], "set(\"//lib:*\")");
  EXPECT_EQ(launcher.queries[1],
            AffectedTestsQuery({"//lib:lib.cc"}, "//...", false));
  for (const std::string& dir : launcher.working_dirs) EXPECT_EQ(dir, root);
}

TEST(FindAffectedTests, CountsUncommittedAndUntrackedChangesByDefault) {
  std::string root = MakeWorkspace("uncommitted");
  ScriptedLauncher launcher(Repository({"lib/lib.cc"}, {"app/testdata/in.txt"},
                                       "//lib:lib.cc\n//app:testdata/in.txt\n",
                                       "//app:a_test\n"));
  absl::StatusOr<AffectedTests> affected =
      FindAffectedTests(Options(root), launcher);
  ASSERT_THAT(affected, IsOk());
  EXPECT_THAT(affected->query_roots,
              ElementsAre("//app:testdata/in.txt", "//lib:lib.cc"));
  EXPECT_THAT(launcher.commands,
              ::testing::Contains(
                  "git diff --name-only --no-renames --relative -z "
                  "2222222222222222222222222222222222222222"));
  EXPECT_THAT(launcher.commands,
              ::testing::Contains("git ls-files --others --exclude-standard -z"));
}

TEST(FindAffectedTests, CommittedOnlyDiffsAgainstHeadAndSkipsUntracked) {
  std::string root = MakeWorkspace("committed_only");
  ScriptedLauncher launcher(
      Repository({"lib/lib.cc"}, {"app/testdata/in.txt"}, "//lib:lib.cc\n",
                 "//app:a_test\n"));
  AffectedOptions options = Options(root);
  options.include_uncommitted = false;
  absl::StatusOr<AffectedTests> affected = FindAffectedTests(options, launcher);
  ASSERT_THAT(affected, IsOk());
  EXPECT_THAT(affected->changed_files, ElementsAre("lib/lib.cc"));
  EXPECT_THAT(launcher.commands,
              ::testing::Contains(
                  "git diff --name-only --no-renames --relative -z "
                  "2222222222222222222222222222222222222222 HEAD"));
  for (const std::string& command : launcher.commands) {
    EXPECT_FALSE(absl::StartsWith(command, "git ls-files")) << command;
  }
}

TEST(FindAffectedTests, BuildFileAndDeletedFileSelectTheirPackage) {
  std::string root = MakeWorkspace("build_and_deleted");
  ScriptedLauncher launcher(Repository({"app/BUILD.bazel", "lib/old.cc"}, {},
                                       "", "//app:a_test\n"));
  absl::StatusOr<AffectedTests> affected =
      FindAffectedTests(Options(root), launcher);
  ASSERT_THAT(affected, IsOk());
  EXPECT_THAT(affected->query_roots, ElementsAre("//app:*", "//lib:*"));
  // No file needed a label, so only the test query ran.
  ASSERT_EQ(launcher.queries.size(), 1u);
  EXPECT_EQ(launcher.queries[0],
            AffectedTestsQuery({"//app:*", "//lib:*"}, "//...", false));
}

TEST(FindAffectedTests, WorkspaceChangeSelectsEveryTest) {
  std::string root = MakeWorkspace("all_tests");
  ScriptedLauncher launcher(Repository({"WORKSPACE", "lib/lib.cc"}, {}, "",
                                       "//app:a_test\n//lib:lib_test\n"));
  absl::StatusOr<AffectedTests> affected =
      FindAffectedTests(Options(root), launcher);
  ASSERT_THAT(affected, IsOk());
  EXPECT_EQ(affected->all_tests_because, "WORKSPACE");
  EXPECT_THAT(affected->targets, ElementsAre("//app:a_test", "//lib:lib_test"));
  ASSERT_EQ(launcher.queries.size(), 1u);
  EXPECT_EQ(launcher.queries[0], AffectedTestsQuery({}, "//...", false));
}

TEST(FindAffectedTests, NoDeclaredFileMeansNoTestsAndNoTestQuery) {
  std::string root = MakeWorkspace("nothing");
  ScriptedLauncher launcher(
      Repository({"lib/README.md", "docs/x.md"}, {}, "//lib:lib.cc\n", "never"));
  absl::StatusOr<AffectedTests> affected =
      FindAffectedTests(Options(root), launcher);
  ASSERT_THAT(affected, IsOk());
  EXPECT_THAT(affected->targets, IsEmpty());
  EXPECT_THAT(affected->query_roots, IsEmpty());
  EXPECT_EQ(launcher.queries.size(), 1u);
}

TEST(FindAffectedTests, UnknownBaseIsInvalidArgument) {
  std::string root = MakeWorkspace("unknown_base");
  ScriptedLauncher launcher([](const std::string& args, const std::string&) {
    if (args == "git rev-parse --is-inside-work-tree") return Exit(0, "true\n");
    return Exit(1);
  });
  AffectedOptions options = Options(root);
  options.base_revision = "origin/nope";
  EXPECT_THAT(FindAffectedTests(options, launcher),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unknown base revision 'origin/nope'")));
}

TEST(FindAffectedTests, NotAGitWorkTreeIsFailedPrecondition) {
  std::string root = MakeWorkspace("not_git");
  ScriptedLauncher launcher([](const std::string&, const std::string&) {
    return Exit(128, "", "fatal: not a git repository\n");
  });
  EXPECT_THAT(FindAffectedTests(Options(root), launcher),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("is not inside a git work tree")));
}

TEST(FindAffectedTests, NoCommonHistoryIsFailedPrecondition) {
  std::string root = MakeWorkspace("shallow");
  ScriptedLauncher launcher([](const std::string& args, const std::string&) {
    if (args == "git rev-parse --is-inside-work-tree") return Exit(0, "true\n");
    if (absl::StartsWith(args, "git rev-parse --verify")) {
      return Exit(0, "1111111111111111111111111111111111111111\n");
    }
    return Exit(1);
  });
  EXPECT_THAT(FindAffectedTests(Options(root), launcher),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("git fetch --unshallow")));
}

TEST(FindAffectedTests, QueryFailureIsUnavailableWithBazelsErrorLine) {
  std::string root = MakeWorkspace("query_fails");
  ScriptedLauncher::Handler repository =
      Repository({"lib/lib.cc"}, {}, "", "");
  ScriptedLauncher launcher([&](const std::string& args, const std::string& q) {
    if (absl::StartsWith(args, "bazel query")) {
      return Exit(7, "",
                  "Loading: 0 packages loaded\nERROR: /ws/lib/BUILD:3:1: "
                  "name 'cc_libary' is not defined\nLoading: done\n");
    }
    return repository(args, q);
  });
  EXPECT_THAT(FindAffectedTests(Options(root), launcher),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("bazel query failed (exit 7) in " + root +
                                 ": ERROR: /ws/lib/BUILD:3:1: name "
                                 "'cc_libary' is not defined")));
}

TEST(FindAffectedTests, PassesBazelStartupOptions) {
  std::string root = MakeWorkspace("startup");
  ScriptedLauncher launcher(
      Repository({"lib/lib.cc"}, {}, "//lib:lib.cc\n", "//app:a_test\n"));
  AffectedOptions options = Options(root);
  options.bazel_startup_options = {"--output_base=/ob"};
  ASSERT_THAT(FindAffectedTests(options, launcher), IsOk());
  EXPECT_TRUE(absl::StartsWith(launcher.commands.back(),
                               "bazel --output_base=/ob query --output=label "
                               "--query_file="))
      << launcher.commands.back();
}

TEST(FindAffectedTests, RejectsMissingBaseAndNonWorkspace) {
  std::string root = MakeWorkspace("reject");
  ScriptedLauncher launcher([](const std::string& args, const std::string&) {
    return Exit(99, "", "unexpected command: " + args);
  });
  AffectedOptions options = Options(root);
  options.base_revision = "";
  EXPECT_THAT(FindAffectedTests(options, launcher),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("no base revision")));
  options = Options(root + "/lib");
  EXPECT_THAT(FindAffectedTests(options, launcher),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("is not a Bazel workspace")));
  options = Options(root);
  options.base_revision = "--output=/etc/passwd";
  EXPECT_THAT(FindAffectedTests(options, launcher),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("looks like a flag")));
  EXPECT_THAT(launcher.commands, IsEmpty());
}

}  // namespace
}  // namespace flaky::merge_gate
