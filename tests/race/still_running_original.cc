// The original form of CPython's test_still_running: expected to fail now and then
// (tagged manual and flaky-original), rarely on an idle machine and often
// when the worker is starved right after its start handshake.
// Every failure, including the worker thread's uncaught error, becomes a
// gtest failure so its text reaches test.xml.
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "tests/race/race_cases.h"

namespace subinterp::race {
namespace {

TEST(StillRunning, Original) {
  absl::StatusOr<std::unique_ptr<Runtime>> runtime =
      NewRuntimeFromEnvironment();
  ASSERT_TRUE(runtime.ok()) << runtime.status().message();
  const CaseReport report = RunStillRunning(**runtime, Helper::kOriginal);
  for (const std::string& failure : report.failures) {
    ADD_FAILURE() << failure;
  }
}

}  // namespace
}  // namespace subinterp::race
