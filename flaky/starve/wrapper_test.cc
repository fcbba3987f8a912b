// RunUnderProfile in this process, on its supervised path (exec in place
// would replace the test process; tests/starve/starve_e2e_test runs the
// binary for that), and the choice between the two.
#include "flaky/starve/wrapper.h"

#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "base/status_matchers.h"
#include "flaky/starve/profile.h"
#include "flaky/starve/record.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::starve {
namespace {

using ::flaky::testing::IsOk;

TEST(NeedsSupervisor, OnlyProfilesWithSomethingToKeepOrCount) {
  struct Case {
    const char* profile;
    bool supervised;
  };
  for (const Case& c : {Case{"none", false}, Case{"taskset:0", false},
                        Case{"env:A=1", false},
                        Case{"taskset:0+env:A=1+env:B=2", false},
                        Case{"hogs:1", true}, Case{"cgroup:20", true},
                        Case{"chaos:1", true}, Case{"sched:1", true},
                        Case{"taskset:0+chaos:1", true},
                        Case{"env:A=1+sched:2,cpu", true}}) {
    absl::StatusOr<Profile> profile = ParseProfile(c.profile);
    ASSERT_THAT(profile, IsOk());
    EXPECT_EQ(NeedsSupervisor(*profile), c.supervised) << c.profile;
  }
}

std::string TmpDir() { return std::getenv("TEST_TMPDIR"); }

// The test, a shell, starts a `setsid` daemon (after a handshake, so it
// really runs in its own session) and a plain background child, writes the
// daemon's pid and exits 3: a supervisor kills both before it returns.
TEST(RunUnderProfile, SupervisedKillsWhatTheTestLeftRunning) {
  int serial = 0;
  for (const char* text : {"none", "hogs:1"}) {
    SCOPED_TRACE(text);
    const std::string fifo = absl::StrCat(TmpDir(), "/ready-", ++serial);
    const std::string pid_file = absl::StrCat(TmpDir(), "/daemon-", serial);
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    WrapperOptions options;
    options.profile = *ParseProfile(text);
    options.supervise = true;
    options.record_file = absl::StrCat(TmpDir(), "/record.json");
    options.command = {
        "/bin/sh", "-c",
        "setsid /bin/sh -c 'echo \"$$\" > \"$0\"; exec /bin/sleep 100000' "
        "\"$1\" & read daemon < \"$1\"; /bin/sleep 100001 & "
        "echo \"$daemon\" > \"$2\"; exit 3",
        "sh", fifo, pid_file};
    std::ostringstream log;
    absl::StatusOr<ExitStatus> status = RunUnderProfile(options, log);
    ASSERT_THAT(status, IsOk()) << log.str();
    EXPECT_TRUE(status->Exited(3)) << status->ToString();
    std::optional<AppliedRecord> record = FindAppliedRecord(log.str());
    ASSERT_TRUE(record.has_value()) << log.str();
    EXPECT_EQ(record->killed, std::optional<int64_t>(2)) << log.str();
    pid_t daemon = 0;
    std::ifstream(pid_file) >> daemon;
    ASSERT_GT(daemon, 0);
    // Reaped by the wrapper, whose subreaper this process now is: gone.
    EXPECT_NE(kill(daemon, 0), 0);
    EXPECT_EQ(errno, ESRCH);
    EXPECT_EQ(waitpid(-1, nullptr, WNOHANG), -1) << "a child left over";
    EXPECT_EQ(errno, ECHILD);
  }
}

}  // namespace
}  // namespace flaky::starve
