#include "flaky/results/log_keeper.h"

#include <sys/stat.h>

#include <string>

#include "flaky/base/status_matchers.h"
#include "flaky/base/test_files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::results {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::ReadFileOrEmpty;
using ::flaky::testing::StatusIs;
using ::flaky::testing::TestTmpPath;
using ::flaky::testing::WriteTestFile;
using ::testing::HasSubstr;

TEST(KeptLogName, IsUniquePerRunAndFileSystemSafe) {
  Trial trial;
  trial.hunt_id = "h 1";
  trial.target = "//tests/race:already_running";
  trial.run = 7;
  trial.shard = 2;
  trial.attempt = 1;
  trial.repetition = 3;
  EXPECT_EQ(KeptLogName(trial), "tests_race_already_running/h_1-r7-s2-a1-i3.log");
  trial.target = "//..:..";
  EXPECT_EQ(KeptLogName(trial), ".._../h_1-r7-s2-a1-i3.log");
}

TEST(KeepLog, CopiesIntoNestedDirectories) {
  const std::string source = TestTmpPath("source.log");
  std::string content = "first line\n";
  for (int i = 0; i < 10000; ++i) content += "more output of a long log\n";
  WriteTestFile(source, content);
  const std::string logs = TestTmpPath("flaky.db.logs");
  absl::StatusOr<std::string> kept = KeepLog(source, logs, "a/b/run.log");
  ASSERT_THAT(kept, IsOk());
  EXPECT_EQ(*kept, logs + "/a/b/run.log");
  EXPECT_EQ(ReadFileOrEmpty(*kept), content);
  // Bazel overwriting the source does not touch the copy.
  WriteTestFile(source, "overwritten by the next bazel test\n");
  EXPECT_EQ(ReadFileOrEmpty(*kept), content);
  // No temporary file is left behind.
  struct stat info;
  EXPECT_NE(stat((logs + "/a/b/run.log.tmp." + std::to_string(getpid())).c_str(),
                 &info),
            0);
}

TEST(KeepLog, Errors) {
  const std::string logs = TestTmpPath("errors.logs");
  EXPECT_THAT(KeepLog(TestTmpPath("missing.log"), logs, "x.log"),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("missing.log to keep does not exist")));
  const std::string source = TestTmpPath("errors_source.log");
  WriteTestFile(source, "x");
  EXPECT_THAT(KeepLog(source, logs, "../escape.log"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("relative path without ..")));
  EXPECT_THAT(KeepLog(source, logs, "/abs.log"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(KeepLog(source, logs, ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // A regular file where the directory should be: fails even as root.
  const std::string blocker = TestTmpPath("blocker");
  WriteTestFile(blocker, "not a directory");
  EXPECT_THAT(KeepLog(source, blocker + "/logs", "x.log"),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("cannot create the kept-logs directory")));
}

}  // namespace
}  // namespace flaky::results
