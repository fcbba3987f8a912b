#include "flaky/results/log_keeper.h"

#include <sys/stat.h>

#include <string>

#include "base/status_matchers.h"
#include "base/test_files.h"
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

TEST(ReadLogCapped, ReadsSmallLogsWholeAndBigOnesHeadAndTail) {
  const std::string small = TestTmpPath("small.log");
  WriteTestFile(small, "[ RUN ] A.B\nflaky-starve: applied {}\n");
  EXPECT_EQ(*ReadLogCapped(small, 100), "[ RUN ] A.B\nflaky-starve: applied {}\n");

  // 1000 bytes, capped at 100: the first and last 50 and a line between.
  const std::string big = TestTmpPath("big.log");
  WriteTestFile(big, "HEAD" + std::string(992, 'x') + "TAIL");
  absl::StatusOr<std::string> text = ReadLogCapped(big, 100);
  ASSERT_THAT(text, IsOk());
  EXPECT_EQ(text->substr(0, 4), "HEAD");
  EXPECT_EQ(text->substr(text->size() - 4), "TAIL");
  EXPECT_THAT(*text, HasSubstr("[flaky: 900 bytes cut here: this log has 1000 bytes, "
                               "more than the 100 flaky reads and keeps (--max_log_bytes)]"));
  EXPECT_LT(text->size(), 250u);
  EXPECT_THAT(ReadLogCapped(TestTmpPath("nope.log"), 100),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("does not exist")));
}

TEST(KeepLog, KeepsAtMostTheCap) {
  const std::string big = TestTmpPath("big_to_keep.log");
  WriteTestFile(big, std::string(10000, 'y'));
  absl::StatusOr<std::string> kept =
      KeepLog(big, TestTmpPath("capped_logs"), "t/big.log", /*max_bytes=*/1000);
  ASSERT_THAT(kept, IsOk());
  const std::string text = ReadFileOrEmpty(*kept);
  EXPECT_LT(text.size(), 1200u);
  EXPECT_THAT(text, HasSubstr("9000 bytes cut here"));
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
