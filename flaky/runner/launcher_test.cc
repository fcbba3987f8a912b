#include "flaky/runner/launcher.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "base/status_matchers.h"
#include "base/test_files.h"
#include "flaky/runner/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::runner {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::ReadFileOrEmpty;
using ::flaky::testing::StatusIs;
using ::testing::HasSubstr;

TEST(PosixLauncher, RunCapturesBothStreamsAndTheExitCode) {
  PosixLauncher launcher;
  absl::StatusOr<CommandResult> result = launcher.Run(
      {.argv = {"sh", "-c", "echo out; echo err >&2; exit 3"}});
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->stdout_text, "out\n");
  EXPECT_EQ(result->stderr_text, "err\n");
  EXPECT_TRUE(result->status.Exited(3));
  EXPECT_EQ(result->status.ToString(), "exit code 3");
}

TEST(PosixLauncher, RunDrainsLargeOutputOnBothStreams) {
  // More than a pipe buffer on each stream: reading one at a time would
  // deadlock.
  PosixLauncher launcher;
  absl::StatusOr<CommandResult> result = launcher.Run(
      {.argv = {"sh", "-c",
                "i=0; while [ $i -lt 20000 ]; do echo 0123456789; "
                "echo 0123456789 >&2; i=$((i+1)); done"}});
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->stdout_text.size(), 220000u);
  EXPECT_EQ(result->stderr_text.size(), 220000u);
}

TEST(PosixLauncher, RunHonoursTheWorkingDirectory) {
  PosixLauncher launcher;
  absl::StatusOr<CommandResult> result =
      launcher.Run({.argv = {"pwd"}, .working_dir = "/"});
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->stdout_text, "/\n");
}

TEST(PosixLauncher, MissingProgramIsNotFound) {
  PosixLauncher launcher;
  EXPECT_THAT(launcher.Run({.argv = {"flaky-no-such-program"}}),
              StatusIs(absl::StatusCode::kNotFound,
                       "cannot start flaky-no-such-program: No such file or "
                       "directory"));
  EXPECT_THAT(launcher.Start({.argv = {"/nonexistent/prog"}}),
              StatusIs(absl::StatusCode::kNotFound,
                       "cannot start /nonexistent/prog: No such file or "
                       "directory"));
}

TEST(PosixLauncher, MissingWorkingDirectoryIsNotFound) {
  PosixLauncher launcher;
  EXPECT_THAT(
      launcher.Run({.argv = {"true"}, .working_dir = "/nonexistent/dir"}),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/dir")));
}

TEST(PosixLauncher, EmptyCommandIsInvalid) {
  PosixLauncher launcher;
  EXPECT_THAT(launcher.Run({}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(PosixLauncher, StartWritesOutputFiles) {
  const std::string dir = std::getenv("TEST_TMPDIR");
  PosixLauncher launcher;
  absl::StatusOr<std::unique_ptr<Process>> process = launcher.Start(
      {.argv = {"sh", "-c", "echo to-out; echo to-err >&2; exit 5"},
       .stdout_path = dir + "/out.txt",
       .stderr_path = dir + "/err.txt"});
  ASSERT_THAT(process, IsOk());
  EXPECT_TRUE((*process)->Wait().Exited(5));
  EXPECT_EQ(ReadFileOrEmpty(dir + "/out.txt"), "to-out\n");
  EXPECT_EQ(ReadFileOrEmpty(dir + "/err.txt"), "to-err\n");
}

TEST(PosixLauncher, OneFileForBothStreamsKeepsBoth) {
  const std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/both.txt";
  PosixLauncher launcher;
  absl::StatusOr<std::unique_ptr<Process>> process = launcher.Start(
      {.argv = {"sh", "-c", "echo first; echo second >&2; echo third"},
       .stdout_path = path,
       .stderr_path = path});
  ASSERT_THAT(process, IsOk());
  EXPECT_TRUE((*process)->Wait().Exited(0));
  EXPECT_EQ(ReadFileOrEmpty(path), "first\nsecond\nthird\n");
}

TEST(PosixLauncher, UnwritableOutputIsUnavailable) {
  PosixLauncher launcher;
  EXPECT_THAT(launcher.Start({.argv = {"true"},
                              .stderr_path = "/nonexistent/dir/err.txt"}),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("cannot write /nonexistent/dir/err.txt")));
}

TEST(PosixLauncher, InterruptSendsSigintToTheProcessGroup) {
  PosixLauncher launcher;
  absl::StatusOr<std::unique_ptr<Process>> process =
      launcher.Start({.argv = {"sleep", "600"}});
  ASSERT_THAT(process, IsOk());
  EXPECT_FALSE((*process)->Poll().has_value());
  (*process)->Interrupt();
  ExitStatus status = (*process)->Wait();
  EXPECT_EQ(status.signal, SIGINT);
  EXPECT_EQ(status.ToString(), "killed by signal 2");
  EXPECT_EQ((*process)->Poll()->signal, SIGINT);
}

// True when `pid` is gone or a zombie (dead, not yet reaped by whoever
// inherited it).
bool Dead(pid_t pid) {
  const std::string stat = ReadFileOrEmpty(absl::StrCat("/proc/", pid, "/stat"));
  if (stat.empty()) return true;
  const size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'Z';
}

TEST(PosixLauncher, AChildDiesWithItsParent) {
  // The parent is a process of our own that starts `sleep` and then dies
  // at once, as a flaky killed by SIGKILL would: its child must get the
  // parent-death signal (SIGINT, what cancels a Bazel command).
  const std::string pid_file = std::string(std::getenv("TEST_TMPDIR")) + "/grandchild.pid";
  const pid_t middle = fork();
  ASSERT_GE(middle, 0);
  if (middle == 0) {
    PosixLauncher launcher;
    absl::StatusOr<std::unique_ptr<Process>> process = launcher.Start(
        {.argv = {"sh", "-c", absl::StrCat("echo $$ > ", pid_file, ".tmp && mv ", pid_file,
                                           ".tmp ", pid_file, " && exec sleep 600")}});
    if (!process.ok()) _exit(1);
    // Wait for the pid file, then die without stopping the child.
    for (int i = 0; i < 600 && ReadFileOrEmpty(pid_file).empty(); ++i) usleep(50000);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(middle, &status, 0), middle);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  int grandchild = 0;
  ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadFileOrEmpty(pid_file)),
                               &grandchild));
  // Liveness bound, not a speed target: the signal comes within
  // milliseconds; without it `sleep 600` outlives the bound.
  bool dead = false;
  for (int i = 0; i < 200 && !(dead = Dead(grandchild)); ++i) usleep(50000);
  if (!dead) kill(grandchild, SIGKILL);
  EXPECT_TRUE(dead) << "the child outlived its parent by 10 s";
}

TEST(PosixLauncher, StopProcessKillsAChildThatIgnoresInterrupt) {
  PosixLauncher launcher;
  const std::string ready = std::string(std::getenv("TEST_TMPDIR")) + "/ready";
  absl::StatusOr<std::unique_ptr<Process>> process = launcher.Start(
      {.argv = {"sh", "-c",
                "trap '' INT; echo ready > " + ready +
                    "; while :; do sleep 1; done"}});
  ASSERT_THAT(process, IsOk());
  // The trap must be installed before we interrupt: wait for the file the
  // shell writes after it (bounded, fails loudly).
  RealClock clock;
  const absl::Time deadline = clock.Now() + absl::Seconds(60);
  while (ReadFileOrEmpty(ready) != "ready\n") {
    ASSERT_LT(clock.Now(), deadline) << "child never became ready";
    clock.SleepFor(absl::Milliseconds(10));
  }
  ExitStatus status = StopProcess(**process, absl::Milliseconds(200), clock);
  EXPECT_EQ(status.signal, SIGKILL);
}

class ScriptedProcess : public Process {
 public:
  explicit ScriptedProcess(bool obeys_interrupt)
      : obeys_interrupt_(obeys_interrupt) {}
  std::optional<ExitStatus> Poll() override { return status_; }
  ExitStatus Wait() override { return status_.value(); }
  void Interrupt() override {
    ++interrupts;
    if (obeys_interrupt_) status_ = ExitStatus{.code = 8};
  }
  void Kill() override {
    ++kills;
    status_ = ExitStatus{.code = -1, .signal = SIGKILL};
  }
  int interrupts = 0;
  int kills = 0;

 private:
  bool obeys_interrupt_;
  std::optional<ExitStatus> status_;
};

TEST(StopProcess, InterruptsFirstAndKillsOnlyAfterTheGrace) {
  ManualClock clock(absl::FromUnixSeconds(1000));
  ScriptedProcess polite(/*obeys_interrupt=*/true);
  EXPECT_TRUE(StopProcess(polite, absl::Seconds(10), clock).Exited(8));
  EXPECT_EQ(polite.interrupts, 1);
  EXPECT_EQ(polite.kills, 0);

  ScriptedProcess stubborn(/*obeys_interrupt=*/false);
  const absl::Time start = clock.Now();
  EXPECT_EQ(StopProcess(stubborn, absl::Seconds(10), clock).signal, SIGKILL);
  EXPECT_EQ(stubborn.kills, 1);
  EXPECT_GE(clock.Now() - start, absl::Seconds(10));
}

TEST(StopProcess, AHurryEndsTheGraceAtOnce) {
  ManualClock clock(absl::FromUnixSeconds(1000));
  ScriptedProcess stubborn(/*obeys_interrupt=*/false);
  std::atomic<bool> hurry{true};  // the second Ctrl-C came
  const absl::Time start = clock.Now();
  EXPECT_EQ(StopProcess(stubborn, absl::Seconds(30), clock, &hurry).signal, SIGKILL);
  EXPECT_EQ(stubborn.interrupts, 1);  // still asked politely first
  EXPECT_EQ(stubborn.kills, 1);
  EXPECT_EQ(clock.Now(), start);  // no grace waited
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
}  // namespace flaky::runner
