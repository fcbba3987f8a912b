// Ctrl-C for real: the `flaky` binary hunts with a stand-in Bazel
// (testdata/fake_bazel.sh) that completes one run and then keeps going; the
// test sends SIGINT to flaky and checks that flaky forwarded it to Bazel,
// stored the completed run, marked the hunt interrupted and exited 130.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/status_matchers.h"
#include "flaky/results/store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::e2e {
namespace {

using ::flaky::testing::IsOk;
using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Runfile(const std::string& path) {
  return absl::StrCat(std::getenv("TEST_SRCDIR"), "/",
                      std::getenv("TEST_WORKSPACE"), "/", path);
}

TEST(HuntSignal, SigintStopsBazelKeepsTrialsAndExits130) {
  const std::string tmp = std::getenv("TEST_TMPDIR");
  const std::string ws = tmp + "/ws";
  ASSERT_EQ(mkdir(ws.c_str(), 0755), 0);
  std::ofstream(ws + "/WORKSPACE") << "workspace(name = \"t\")\n";
  const std::string mark = tmp + "/bazel_mark";
  const std::string store = tmp + "/flaky.db";
  const std::string flaky = Runfile("flaky/flaky");
  const std::string bazel = Runfile("tests/e2e/testdata/fake_bazel.sh");
  const std::string err = tmp + "/flaky.stderr";

  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (chdir(ws.c_str()) != 0) _exit(120);
    unsetenv("BUILD_WORKSPACE_DIRECTORY");
    unsetenv("BUILD_WORKING_DIRECTORY");
    setenv("FAKE_BAZEL_MARK", mark.c_str(), 1);
    freopen(err.c_str(), "w", stderr);
    execl(flaky.c_str(), flaky.c_str(), "hunt", "//t:a_test", "--runs=1000",
          ("--bazel=" + bazel).c_str(), ("--store=" + store).c_str(),
          "--hunt_id=sig", "--starve_wrapper=", "--stop_grace=60s",
          static_cast<char*>(nullptr));
    _exit(121);
  }
  // Wait for the event (Bazel finished run 1), not for a time.
  const absl::Time deadline = absl::Now() + absl::Seconds(120);
  while (ReadFile(mark + ".ready").empty()) {
    ASSERT_LT(absl::Now(), deadline)
        << "fake bazel never started: " << ReadFile(err);
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_EQ(kill(pid, SIGINT), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  const std::string stderr_text = ReadFile(err);
  ASSERT_TRUE(WIFEXITED(status)) << stderr_text;
  EXPECT_EQ(WEXITSTATUS(status), 130) << stderr_text;
  EXPECT_EQ(ReadFile(mark), "interrupted\n");
  EXPECT_THAT(stderr_text, HasSubstr("interrupted: 1 trials of 1 completed "
                                     "runs are in " + store));

  absl::StatusOr<std::unique_ptr<results::Store>> opened =
      results::Store::Open(store);
  ASSERT_THAT(opened, IsOk());
  absl::StatusOr<std::vector<results::HuntRecord>> hunts =
      (*opened)->ListHunts();
  ASSERT_THAT(hunts, IsOk());
  ASSERT_EQ(hunts->size(), 1u);
  EXPECT_EQ((*hunts)[0].status, "interrupted");
  EXPECT_EQ((*hunts)[0].trials, 1);
}

}  // namespace
}  // namespace flaky::e2e
