#include "flaky/merge_gate/launcher.h"

#include <stdlib.h>

#include <string>

#include "base/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::merge_gate {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::StatusIs;
using ::testing::HasSubstr;

TEST(SubprocessLauncher, CollectsStdoutStderrAndExitCode) {
  SubprocessLauncher launcher;
  Command command;
  command.argv = {"/bin/sh", "-c", "echo out; echo err >&2; exit 3"};
  absl::StatusOr<ProcessResult> result = launcher.Run(command);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->exit_code, 3);
  EXPECT_EQ(result->stdout_text, "out\n");
  EXPECT_EQ(result->stderr_text, "err\n");
}

TEST(SubprocessLauncher, LargeOutputOnBothStreamsDoesNotDeadlock) {
  SubprocessLauncher launcher;
  Command command;
  // 1 MiB on each stream: far beyond a pipe's 64 KiB buffer, so reading one
  // stream to the end before the other would hang.
  command.argv = {"/bin/sh", "-c",
                  "head -c 1048576 /dev/zero; head -c 1048576 /dev/zero >&2"};
  absl::StatusOr<ProcessResult> result = launcher.Run(command);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->stdout_text.size(), 1048576u);
  EXPECT_EQ(result->stderr_text.size(), 1048576u);
}

TEST(SubprocessLauncher, RunsInTheWorkingDirectory) {
  SubprocessLauncher launcher;
  Command command;
  command.argv = {"/bin/pwd", "-P"};
  command.working_dir = "/";
  absl::StatusOr<ProcessResult> result = launcher.Run(command);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->stdout_text, "/\n");
}

TEST(SubprocessLauncher, SearchesPath) {
  SubprocessLauncher launcher;
  Command command;
  command.argv = {"true"};
  absl::StatusOr<ProcessResult> result = launcher.Run(command);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->exit_code, 0);
}

TEST(SubprocessLauncher, MissingProgramIsNotFound) {
  SubprocessLauncher launcher;
  Command command;
  command.argv = {"flaky-no-such-program-on-path"};
  EXPECT_THAT(launcher.Run(command),
              StatusIs(absl::StatusCode::kNotFound,
                       "cannot start flaky-no-such-program-on-path: No such "
                       "file or directory"));
}

TEST(SubprocessLauncher, MissingWorkingDirectoryIsNotFound) {
  SubprocessLauncher launcher;
  Command command;
  command.argv = {"true"};
  command.working_dir = std::string(getenv("TEST_TMPDIR")) + "/absent";
  EXPECT_THAT(launcher.Run(command),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("cannot enter directory")));
}

TEST(SubprocessLauncher, EmptyArgvIsInvalid) {
  SubprocessLauncher launcher;
  EXPECT_THAT(launcher.Run(Command{}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(SubprocessLauncher, SignalDeathIsReportedLikeTheShell) {
  SubprocessLauncher launcher;
  Command command;
  command.argv = {"/bin/sh", "-c", "kill -TERM $$"};
  absl::StatusOr<ProcessResult> result = launcher.Run(command);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->exit_code, 128 + 15);
}

}  // namespace
}  // namespace flaky::merge_gate
