#include "flaky/cli/stop_signals.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>

#include "base/status_matchers.h"
#include "gtest/gtest.h"

namespace flaky::cli {
namespace {

using ::flaky::testing::IsOk;

TEST(StopSignals, FirstSigintOrSigtermSetsTheFlag) {
  std::atomic<bool> stop{false};
  ASSERT_THAT(InstallStopSignals(&stop), IsOk());
  // raise() runs the handler before it returns (same thread).
  ASSERT_EQ(raise(SIGTERM), 0);
  EXPECT_TRUE(stop.load());
  EXPECT_EQ(StopSignalCount(), 1);

  std::atomic<bool> again{false};
  ASSERT_THAT(InstallStopSignals(&again), IsOk());
  ASSERT_EQ(raise(SIGINT), 0);
  EXPECT_TRUE(again.load());
}

TEST(StopSignals, TheSecondSignalHurriesAndLaterOnesAreIgnored) {
  // In a child, so that a default action (the old behaviour: die at the
  // second signal, leaving Bazel running) would end only the child.
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::atomic<bool> stop{false};
    std::atomic<bool> hurry{false};
    if (!InstallStopSignals(&stop, &hurry).ok()) _exit(2);
    raise(SIGINT);
    if (!stop.load() || hurry.load()) _exit(3);
    raise(SIGTERM);
    if (!hurry.load()) _exit(4);
    raise(SIGINT);  // a third: ignored, the process lives on
    raise(SIGTERM);
    _exit(StopSignalCount() == 4 ? 0 : 5);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace flaky::cli
