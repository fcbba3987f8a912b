#include "bench/processes.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "base/status_matchers.h"
#include "flaky/runner/clock.h"
#include "flaky/runner/launcher.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::bench {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::StatusIs;
using ::testing::HasSubstr;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class ProcessesTest : public ::testing::Test {
 protected:
  runner::PosixLauncher launcher_;
  runner::RealClock clock_;
  Processes processes_{launcher_, clock_};
};

TEST_F(ProcessesTest, RunLoggedKeepsOutputAndExitCode) {
  const std::string log = std::string(std::getenv("TEST_TMPDIR")) + "/run.log";
  absl::StatusOr<Finished> finished = processes_.RunLogged(
      {"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}, log);
  ASSERT_THAT(finished.status(), IsOk());
  EXPECT_TRUE(finished->status.Exited(3));
  EXPECT_GE(finished->wall, absl::ZeroDuration());
  EXPECT_EQ(ReadAll(log), "out\nerr\n");
}

TEST_F(ProcessesTest, RunLoggedReportsAMissingProgram) {
  EXPECT_THAT(processes_.RunLogged({"/nonexistent/program"}, "/dev/null").status(),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(ProcessesTest, OutputReturnsStdoutOrSaysWhyNot) {
  absl::StatusOr<std::string> out = processes_.Output({"/bin/echo", "abc"});
  ASSERT_THAT(out.status(), IsOk());
  EXPECT_EQ(*out, "abc");
  EXPECT_THAT(processes_.Output({"/bin/sh", "-c", "echo boom >&2; exit 4"}).status(),
              StatusIs(absl::StatusCode::kInternal,
                       "`/bin/sh -c echo boom >&2; exit 4` ended with exit "
                       "code 4: boom"));
}

TEST_F(ProcessesTest, TightLoopRunsEveryLoop) {
  const std::string counter =
      std::string(std::getenv("TEST_TMPDIR")) + "/counter";
  absl::StatusOr<absl::Duration> wall = processes_.TightLoop(
      "/bin/sh", 5, 2, {"-c", "echo x >> " + counter});
  ASSERT_THAT(wall.status(), IsOk());
  std::string expected;
  for (int i = 0; i < 10; ++i) expected += "x\n";
  EXPECT_EQ(ReadAll(counter), expected);
}

TEST_F(ProcessesTest, TightLoopFailsOnAFailingRun) {
  EXPECT_THAT(processes_.TightLoop("/bin/false", 3, 2).status(),
              StatusIs(absl::StatusCode::kInternal,
                       HasSubstr("run 1 of /bin/false ended with exit code 1")));
  EXPECT_THAT(processes_.TightLoop("/bin/true", 0, 2).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace flaky::bench
