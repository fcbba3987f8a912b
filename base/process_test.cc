#include "base/process.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/status_matchers.h"
#include "base/test_files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::ReadFileOrEmpty;
using ::flaky::testing::StatusIs;
using ::testing::HasSubstr;

std::string TmpDir() { return std::getenv("TEST_TMPDIR"); }

SpawnOptions Captured(std::vector<std::string> argv) {
  SpawnOptions options;
  options.argv = std::move(argv);
  options.stdout_to = Output::Capture();
  options.stderr_to = Output::Capture();
  return options;
}

// True when `pid` is gone or a zombie.
bool Dead(pid_t pid) {
  const std::string stat = ReadFileOrEmpty(absl::StrCat("/proc/", pid, "/stat"));
  if (stat.empty()) return true;
  const size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() &&
         stat[paren + 2] == 'Z';
}

// WaitForPidFile waits (bounded, failing loudly) for a file holding a pid.
pid_t WaitForPidFile(const std::string& path) {
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  int pid = 0;
  while (!absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadFileOrEmpty(path)),
                           &pid)) {
    if (absl::Now() > deadline) {
      ADD_FAILURE() << "no pid in " << path;
      return -1;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  return pid;
}

// WaitDead waits up to 10 s for `pid` to die.
bool WaitDead(pid_t pid) {
  for (int i = 0; i < 1000; ++i) {
    if (Dead(pid)) return true;
    absl::SleepFor(absl::Milliseconds(10));
  }
  kill(pid, SIGKILL);
  return false;
}

TEST(ExitStatus, RendersAndConvertsToTheShellConvention) {
  EXPECT_EQ(ExitStatus{.code = 3}.ToString(), "exit code 3");
  EXPECT_EQ(ExitStatus::Killed(9).ToString(), "killed by signal 9");
  EXPECT_EQ(ExitStatus{.code = 3}.ShellCode(), 3);
  EXPECT_EQ(ExitStatus::Killed(15).ShellCode(), 143);
  EXPECT_TRUE(ExitStatus{.code = 0}.Exited(0));
  EXPECT_FALSE(ExitStatus::Killed(9).Exited(-1));
}

TEST(RunProcess, CapturesBothStreamsAndTheExitCode) {
  absl::StatusOr<RunResult> result =
      RunProcess(Captured({"sh", "-c", "echo out; echo err >&2; exit 3"}));
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->stdout_text, "out\n");
  EXPECT_EQ(result->stderr_text, "err\n");
  EXPECT_TRUE(result->status.Exited(3));
}

TEST(RunProcess, LargeOutputOnBothStreamsDoesNotDeadlock) {
  // 1 MiB on each stream: far beyond a pipe's buffer.
  absl::StatusOr<RunResult> result = RunProcess(Captured(
      {"sh", "-c", "head -c 1048576 /dev/zero; head -c 1048576 /dev/zero >&2"}));
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->stdout_text.size(), 1048576u);
  EXPECT_EQ(result->stderr_text.size(), 1048576u);
}

TEST(Spawn, CaptureKeepsAtMostItsCapAndDrainsTheRest) {
  SpawnOptions options = Captured({"sh", "-c", "head -c 1048576 /dev/zero"});
  options.stdout_to = Output::Capture(100);
  absl::StatusOr<Process> process = Process::Spawn(options);
  ASSERT_THAT(process, IsOk());
  EXPECT_TRUE(process->Wait().Exited(0));
  EXPECT_EQ(process->stdout_text().size(), 100u);
  EXPECT_TRUE(process->stdout_truncated());
  EXPECT_FALSE(process->stderr_truncated());
}

TEST(RunProcess, StdinIsDevNullAndEnvironmentAndDirectoryAreGiven) {
  SpawnOptions options =
      Captured({"sh", "-c", "cat; echo \"$FLAKY_X\"; pwd -P"});
  options.env = std::vector<std::string>{"FLAKY_X=y", "PATH=/usr/bin:/bin"};
  options.cwd = "/";
  absl::StatusOr<RunResult> result = RunProcess(options);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->stdout_text, "y\n/\n");
}

TEST(Spawn, MissingProgramIsNotFound) {
  EXPECT_THAT(Process::Spawn({.argv = {"flaky-no-such-program"}}),
              StatusIs(absl::StatusCode::kNotFound,
                       "cannot start flaky-no-such-program: No such file or "
                       "directory"));
  EXPECT_THAT(Process::Spawn({.argv = {"/nonexistent/prog"}}),
              StatusIs(absl::StatusCode::kNotFound,
                       "cannot start /nonexistent/prog: No such file or "
                       "directory"));
}

TEST(Spawn, NotExecutableIsPermissionDenied) {
  EXPECT_THAT(Process::Spawn({.argv = {"/"}}),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       "cannot start /: Permission denied"));
}

TEST(Spawn, MissingWorkingDirectoryIsNotFound) {
  EXPECT_THAT(Process::Spawn({.argv = {"true"}, .cwd = "/nonexistent/dir"}),
              StatusIs(absl::StatusCode::kNotFound,
                       "cannot start true: cannot enter directory "
                       "/nonexistent/dir: No such file or directory"));
  SpawnOptions captured = Captured({"true"});
  captured.cwd = "/nonexistent/dir";
  EXPECT_THAT(RunProcess(captured), StatusIs(absl::StatusCode::kNotFound));
}

TEST(Spawn, EmptyArgvIsInvalid) {
  EXPECT_THAT(Process::Spawn({}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "cannot start an empty command"));
}

TEST(Spawn, UnwritableOutputIsUnavailable) {
  EXPECT_THAT(
      Process::Spawn({.argv = {"true"},
                      .stderr_to = Output::File("/nonexistent/dir/err.txt")}),
      StatusIs(absl::StatusCode::kUnavailable,
               "cannot start true: cannot write /nonexistent/dir/err.txt: No "
               "such file or directory"));
}

TEST(Spawn, OneFileForBothStreamsKeepsBoth) {
  const std::string path = TmpDir() + "/both.txt";
  absl::StatusOr<Process> process = Process::Spawn(
      {.argv = {"sh", "-c", "echo first; echo second >&2; echo third"},
       .stdout_to = Output::File(path),
       .stderr_to = Output::File(path)});
  ASSERT_THAT(process, IsOk());
  EXPECT_TRUE(process->Wait().Exited(0));
  EXPECT_EQ(ReadFileOrEmpty(path), "first\nsecond\nthird\n");
}

TEST(Process, SignalDeathIsReported) {
  absl::StatusOr<Process> process =
      Process::Spawn({.argv = {"sh", "-c", "kill -TERM $$"}});
  ASSERT_THAT(process, IsOk());
  const ExitStatus status = process->Wait();
  EXPECT_EQ(status, ExitStatus::Killed(SIGTERM));
  EXPECT_EQ(status.ShellCode(), 143);
  EXPECT_EQ(process->Poll(), status);
}

TEST(Process, SignalReachesTheWholeGroup) {
  const std::string pid_file = TmpDir() + "/group_child.pid";
  absl::StatusOr<Process> process = Process::Spawn(
      {.argv = {"sh", "-c",
                absl::StrCat("sleep 600 & echo $! > ", pid_file, ".tmp && mv ",
                             pid_file, ".tmp ", pid_file, "; wait")},
       .new_process_group = true});
  ASSERT_THAT(process, IsOk());
  const pid_t grandchild = WaitForPidFile(pid_file);
  EXPECT_FALSE(process->Poll().has_value());
  // SIGTERM: a non-interactive shell's background jobs ignore SIGINT.
  process->Signal(SIGTERM);
  EXPECT_EQ(process->Wait(), ExitStatus::Killed(SIGTERM));
  EXPECT_TRUE(WaitDead(grandchild));
}

TEST(Process, WaitForReturnsTheStatusOfAProcessThatEnds) {
  absl::StatusOr<Process> process =
      Process::Spawn({.argv = {"sh", "-c", "exit 4"}});
  ASSERT_THAT(process, IsOk());
  absl::StatusOr<ExitStatus> status = process->WaitFor(absl::Seconds(60));
  ASSERT_THAT(status, IsOk());
  EXPECT_TRUE(status->Exited(4));
}

TEST(Process, ExitFdIsReadableOnlyOnceTheChildHasEnded) {
  absl::StatusOr<Process> process = Process::Spawn({.argv = {"sh", "-c", "exit 5"}});
  ASSERT_THAT(process, IsOk());
  const int fd = process->exit_fd();
  ASSERT_GE(fd, 0) << "no pidfd: kernel before 5.3?";
  pollfd ended = {.fd = fd, .events = POLLIN, .revents = 0};
  ASSERT_EQ(poll(&ended, 1, 60000), 1);  // a minute: never reached unless broken
  EXPECT_TRUE(ended.revents & POLLIN);
  EXPECT_TRUE(process->Wait().Exited(5));
  EXPECT_EQ(process->exit_fd(), -1);  // reaped: no descriptor to wait on
}

TEST(Process, ExitFdStaysQuietWhileTheChildRuns) {
  absl::StatusOr<Process> process = Process::Spawn({.argv = {"sleep", "60"}});
  ASSERT_THAT(process, IsOk());
  pollfd running = {.fd = process->exit_fd(), .events = POLLIN, .revents = 0};
  EXPECT_EQ(poll(&running, 1, 50), 0);
  process->Signal(SIGKILL);
  EXPECT_EQ(poll(&running, 1, 60000), 1);
}

TEST(Process, WaitForKillsTheGroupOnTimeout) {
  const std::string pid_file = TmpDir() + "/timeout_child.pid";
  absl::StatusOr<Process> process = Process::Spawn(
      {.argv = {"sh", "-c",
                absl::StrCat("trap '' INT TERM; sleep 600 & echo $! > ",
                             pid_file, ".tmp && mv ", pid_file, ".tmp ",
                             pid_file, "; wait")},
       .new_process_group = true});
  ASSERT_THAT(process, IsOk());
  const pid_t grandchild = WaitForPidFile(pid_file);
  EXPECT_THAT(process->WaitFor(absl::Milliseconds(100)),
              StatusIs(absl::StatusCode::kDeadlineExceeded,
                       "sh did not end within 100ms: killed"));
  EXPECT_EQ(process->exit_status(), ExitStatus::Killed(SIGKILL));
  EXPECT_TRUE(WaitDead(grandchild));
}

TEST(Process, HeldChildExecsOnlyWhenReleased) {
  const std::string marker = TmpDir() + "/released";
  absl::StatusOr<Process> process = Process::Spawn(
      {.argv = {"sh", "-c", absl::StrCat("echo ran > ", marker)}, .hold = true});
  ASSERT_THAT(process, IsOk());
  absl::SleepFor(absl::Milliseconds(50));  // a child that did not wait would run now
  EXPECT_EQ(ReadFileOrEmpty(marker), "");
  ASSERT_THAT(process->Release(), IsOk());
  EXPECT_TRUE(process->Wait().Exited(0));
  EXPECT_EQ(ReadFileOrEmpty(marker), "ran\n");
  EXPECT_THAT(process->Release(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(Process, HeldChildReportsItsExecErrorOnRelease) {
  absl::StatusOr<Process> process =
      Process::Spawn({.argv = {"/nonexistent/prog"}, .hold = true});
  ASSERT_THAT(process, IsOk());
  EXPECT_THAT(process->Release(),
              StatusIs(absl::StatusCode::kNotFound,
                       "cannot start /nonexistent/prog: No such file or "
                       "directory"));
  EXPECT_TRUE(process->Wait().Exited(127));
}

TEST(Process, DroppingARunningProcessKillsAndReapsIt) {
  pid_t pid = 0;
  {
    absl::StatusOr<Process> process =
        Process::Spawn({.argv = {"sleep", "600"}});
    ASSERT_THAT(process, IsOk());
    pid = process->pid();
    Process moved = *std::move(process);
    EXPECT_EQ(moved.pid(), pid);
  }
  EXPECT_EQ(waitpid(pid, nullptr, WNOHANG), -1) << "not reaped";
  EXPECT_TRUE(Dead(pid));
}

TEST(Process, ForkRunsTheBodyInTheChild) {
  absl::StatusOr<Process> process = Process::Fork(
      {.argv = {"body"}, .stdout_to = Output::Capture()}, [] {
        (void)!write(STDOUT_FILENO, "hello", 5);
        _exit(6);
      });
  ASSERT_THAT(process, IsOk());
  EXPECT_TRUE(process->Wait().Exited(6));
  EXPECT_EQ(process->stdout_text(), "hello");
}

TEST(Process, AChildDiesWithItsParent) {
  // The parent starts `sleep` with a parent-death signal and dies at once.
  const std::string pid_file = TmpDir() + "/orphan.pid";
  const pid_t middle = fork();
  ASSERT_GE(middle, 0);
  if (middle == 0) {
    absl::StatusOr<Process> process = Process::Spawn(
        {.argv = {"sh", "-c",
                  absl::StrCat("echo $$ > ", pid_file, ".tmp && mv ", pid_file,
                               ".tmp ", pid_file, " && exec sleep 600")},
         .parent_death_signal = SIGINT});
    if (!process.ok()) _exit(1);
    for (int i = 0; i < 600 && ReadFileOrEmpty(pid_file).empty(); ++i) {
      usleep(50000);
    }
    _exit(0);  // without stopping the child
  }
  int status = 0;
  ASSERT_EQ(waitpid(middle, &status, 0), middle);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_TRUE(WaitDead(WaitForPidFile(pid_file)))
      << "the child outlived its parent by 10 s";
}

TEST(FindOnPath, SearchesEachDirectoryInOrder) {
  absl::StatusOr<std::string> sh = FindOnPath("sh", "/nonexistent:/bin:/usr/bin");
  ASSERT_THAT(sh, IsOk());
  EXPECT_EQ(*sh, "/bin/sh");
  EXPECT_THAT(FindOnPath("sh", ""),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("sh not found on PATH (empty)")));
}

}  // namespace
}  // namespace flaky
