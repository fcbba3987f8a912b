#include "flaky/results/log_keeper.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "flaky/base/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::results {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::StatusIs;
using ::testing::HasSubstr;

std::string TmpPath(absl::string_view name) {
  return absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void WriteAll(const std::string& path, absl::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  ASSERT_TRUE(out.good()) << path;
}

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
  const std::string source = TmpPath("source.log");
  std::string content = "first line\n";
  for (int i = 0; i < 10000; ++i) content += "more output of a long log\n";
  WriteAll(source, content);
  const std::string logs = TmpPath("flaky.db.logs");
  absl::StatusOr<std::string> kept = KeepLog(source, logs, "a/b/run.log");
  ASSERT_THAT(kept, IsOk());
  EXPECT_EQ(*kept, logs + "/a/b/run.log");
  EXPECT_EQ(ReadAll(*kept), content);
  // Bazel overwriting the source does not touch the copy.
  WriteAll(source, "overwritten by the next bazel test\n");
  EXPECT_EQ(ReadAll(*kept), content);
  // No temporary file is left behind.
  struct stat info;
  EXPECT_NE(stat((logs + "/a/b/run.log.tmp." + std::to_string(getpid())).c_str(),
                 &info),
            0);
}

TEST(KeepLog, Errors) {
  const std::string logs = TmpPath("errors.logs");
  EXPECT_THAT(KeepLog(TmpPath("missing.log"), logs, "x.log"),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("missing.log to keep does not exist")));
  const std::string source = TmpPath("errors_source.log");
  WriteAll(source, "x");
  EXPECT_THAT(KeepLog(source, logs, "../escape.log"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("relative path without ..")));
  EXPECT_THAT(KeepLog(source, logs, "/abs.log"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(KeepLog(source, logs, ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // A regular file where the directory should be: fails even as root.
  const std::string blocker = TmpPath("blocker");
  WriteAll(blocker, "not a directory");
  EXPECT_THAT(KeepLog(source, blocker + "/logs", "x.log"),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("cannot create the kept-logs directory")));
}

}  // namespace
}  // namespace flaky::results
