#include "flaky/cli/context.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace flaky::cli {
namespace {

// Git answers `git rev-parse HEAD` with `head` (exit 128 when empty, as
// outside a repository) and remembers where it was asked.
class Git : public runner::Launcher {
 public:
  absl::StatusOr<std::unique_ptr<runner::Process>> Start(
      const runner::Command&) override {
    return absl::UnimplementedError("Git only runs");
  }
  absl::StatusOr<runner::CommandResult> Run(const runner::Command& command) override {
    asked_in.push_back(command.working_dir);
    runner::CommandResult result;
    result.status.code = head.empty() ? 128 : 0;
    result.stdout_text = head + "\n";
    return result;
  }
  std::string head = "3f2a9c";
  std::vector<std::string> asked_in;
};

class ContextTest : public ::testing::Test {
 protected:
  ContextTest()
      : root_(absl::StrCat(std::getenv("TEST_TMPDIR"), "/",
                           ::testing::UnitTest::GetInstance()
                               ->current_test_info()
                               ->name())) {
    mkdir(root_.c_str(), 0755);
    mkdir((root_ + "/ws").c_str(), 0755);
    mkdir((root_ + "/ws/pkg").c_str(), 0755);
    std::ofstream(root_ + "/ws/WORKSPACE") << "";
    facts_.current_directory = root_ + "/ws/pkg";
    facts_.host = "ci-7";
    facts_.pid = 4242;
    facts_.now = absl::FromCivil(absl::CivilSecond(2026, 12, 2, 10, 15, 0),
                                 absl::UTCTimeZone());
  }

  std::string root_;
  ProcessFacts facts_;
  Git git_;
};

TEST_F(ContextTest, FindsTheWorkspaceUpwardsAndPutsTheStoreInIt) {
  const Context context = ResolveContext({}, facts_, git_);
  EXPECT_EQ(context.workspace, root_ + "/ws");
  EXPECT_EQ(context.user_directory, root_ + "/ws/pkg");
  EXPECT_EQ(context.store_path, root_ + "/ws/flaky.db");
  EXPECT_EQ(context.hunt_id, "20261202-101500-4242");
  EXPECT_FALSE(context.hunt_id_given);
  EXPECT_EQ(context.host, "ci-7");
  EXPECT_EQ(context.commit, "3f2a9c");
  // git ran once, in the workspace.
  EXPECT_EQ(git_.asked_in, std::vector<std::string>{root_ + "/ws"});
  EXPECT_EQ(context.UserPath("out/report"), root_ + "/ws/pkg/out/report");
  EXPECT_EQ(context.UserPath("/abs"), "/abs");
  EXPECT_EQ(context.UserPath(""), "");
}

TEST_F(ContextTest, FlagsWinAndRelativeStoresAreTheUsers) {
  const Context context =
      ResolveContext({.store = "my.db", .hunt_id = "nightly"}, facts_, git_);
  EXPECT_EQ(context.store_path, root_ + "/ws/pkg/my.db");
  EXPECT_EQ(context.hunt_id, "nightly");
  EXPECT_TRUE(context.hunt_id_given);
  EXPECT_EQ(ResolveContext({.store = "/data/f.db", .hunt_id = ""}, facts_, git_)
                .store_path,
            "/data/f.db");
}

TEST_F(ContextTest, BazelRunSaysWhereTheWorkspaceAndTheUserAre) {
  facts_.current_directory = "/runfiles/flaky";
  facts_.bazel_run_workspace = root_ + "/ws";
  facts_.bazel_run_directory = root_ + "/ws/pkg";
  const Context context = ResolveContext({.store = "x.db", .hunt_id = ""}, facts_, git_);
  EXPECT_EQ(context.workspace, root_ + "/ws");
  EXPECT_EQ(context.store_path, root_ + "/ws/pkg/x.db");
}

TEST_F(ContextTest, OutsideAWorkspaceNothingIsGuessed) {
  facts_.current_directory = root_;
  git_.head = "";
  const Context context = ResolveContext({}, facts_, git_);
  EXPECT_EQ(context.workspace, "");
  EXPECT_EQ(context.store_path, root_ + "/flaky.db");
  EXPECT_EQ(context.commit, "");
  EXPECT_TRUE(git_.asked_in.empty());
}

TEST_F(ContextTest, NotARepositoryHasNoCommit) {
  git_.head = "";
  EXPECT_EQ(ResolveContext({}, facts_, git_).commit, "");
}

}  // namespace
}  // namespace flaky::cli
