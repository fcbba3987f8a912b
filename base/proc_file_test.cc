#include "base/proc_file.h"

#include <sys/wait.h>
#include <unistd.h>

#include <optional>
#include <string>

#include "gtest/gtest.h"

namespace flaky {
namespace {

TEST(ReadProcFile, ReadsALiveProcessAndSaysWhenItIsGone) {
  std::optional<std::string> self = ReadProcFile("/proc/self/cmdline");
  ASSERT_TRUE(self.has_value());
  EXPECT_NE(self->find("proc_file_test"), std::string::npos) << *self;
  const pid_t child = fork();
  if (child == 0) _exit(0);
  ASSERT_EQ(waitpid(child, nullptr, 0), child);
  EXPECT_EQ(ReadProcFile("/proc/" + std::to_string(child) + "/cmdline"), std::nullopt);
}

}  // namespace
}  // namespace flaky
