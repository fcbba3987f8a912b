// test_still_running with the readiness check of CPython PR 27240: must pass
// under any schedule.
// Every failure, including the worker thread's uncaught error, becomes a
// gtest failure so its text reaches test.xml.
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "tests/race/race_cases.h"

namespace subinterp::race {
namespace {

TEST(StillRunning, Fixed) {
  absl::StatusOr<std::unique_ptr<Runtime>> runtime =
      NewRuntimeFromEnvironment();
  ASSERT_TRUE(runtime.ok()) << runtime.status().message();
  const CaseReport report = RunStillRunning(**runtime, Helper::kFixed);
  for (const std::string& failure : report.failures) {
    ADD_FAILURE() << failure;
  }
}

}  // namespace
}  // namespace subinterp::race
