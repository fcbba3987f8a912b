#include "runtime/thread.h"

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/runtime.h"

namespace subinterp {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::StatusIs;
using ::testing::ElementsAre;

std::unique_ptr<Runtime> NewRuntime(RuntimeOptions options = {}) {
  absl::StatusOr<std::unique_ptr<Runtime>> runtime =
      Runtime::Create(std::move(options));
  EXPECT_TRUE(runtime.ok()) << runtime.status();
  return runtime.ok() ? *std::move(runtime) : nullptr;
}

TEST(Thread, StartReturnsOnlyAfterTheThreadSignalledItStarted) {
  std::unique_ptr<Runtime> rt = NewRuntime();
  ThreadState& main = rt->main_thread();
  const ChannelId channel = main.CreateChannel();
  Thread thread(main, [&](ThreadState& self) {
    return self.Recv(channel).status();
  });
  EXPECT_FALSE(thread.is_alive());
  ASSERT_THAT(thread.Start(), IsOk());
  // The started flag is set by the new thread itself; the target is blocked
  // in recv, so the thread cannot have finished either.
  EXPECT_TRUE(thread.is_alive());
  EXPECT_EQ(thread.name(), "Thread-1 (run)");
  ASSERT_THAT(main.Send(channel, "stop"), IsOk());
  ASSERT_THAT(thread.Join(absl::Seconds(30)), IsOk());
  EXPECT_FALSE(thread.is_alive());
  EXPECT_EQ(main.GetCurrent(), 0);
}

TEST(Thread, StartsOnlyOnce) {
  std::unique_ptr<Runtime> rt = NewRuntime();
  Thread thread(rt->main_thread(),
                [](ThreadState&) { return absl::OkStatus(); });
  ASSERT_THAT(thread.Start(), IsOk());
  EXPECT_THAT(thread.Start(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "threads can only be started once"));
  EXPECT_THAT(thread.Join(), IsOk());
  EXPECT_THAT(thread.Join(), IsOk());
}

TEST(Thread, JoinBeforeStartFails) {
  std::unique_ptr<Runtime> rt = NewRuntime();
  Thread thread(rt->main_thread(),
                [](ThreadState&) { return absl::OkStatus(); });
  EXPECT_THAT(thread.Join(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "cannot join thread before it is started"));
}

TEST(Thread, JoinTimesOutWhileTheTargetBlocks) {
  std::unique_ptr<Runtime> rt = NewRuntime();
  ThreadState& main = rt->main_thread();
  const ChannelId channel = main.CreateChannel();
  Thread thread(main, [&](ThreadState& self) {
    return self.Recv(channel).status();
  });
  ASSERT_THAT(thread.Start(), IsOk());
  EXPECT_THAT(thread.Join(absl::Milliseconds(10)),
              StatusIs(absl::StatusCode::kDeadlineExceeded,
                       "thread Thread-1 (run) did not finish within 10ms"));
  EXPECT_TRUE(thread.is_alive());
  ASSERT_THAT(main.Send(channel, "stop"), IsOk());
  EXPECT_THAT(thread.Join(absl::Seconds(30)), IsOk());
}

TEST(Thread, UncaughtErrorsAreReportedLikeCPython) {
  std::string err;
  RuntimeOptions options;
  options.stderr_sink = [&err](absl::string_view text) { err.append(text.data(), text.size()); };
  std::unique_ptr<Runtime> rt = NewRuntime(options);
  ThreadState& main = rt->main_thread();
  ThreadOptions named;
  named.target_name = "worker";
  Thread ok(main, [](ThreadState&) { return absl::OkStatus(); });
  Thread failing(
      main,
      [](ThreadState& self) { return self.RunString(60, "print \"x\""); },
      named);
  ASSERT_THAT(ok.Start(), IsOk());
  ASSERT_THAT(failing.Start(), IsOk());
  ASSERT_THAT(ok.Join(absl::Seconds(30)), IsOk());
  ASSERT_THAT(failing.Join(absl::Seconds(30)), IsOk());
  EXPECT_THAT(failing.result(), StatusIs(absl::StatusCode::kNotFound,
                                         "unrecognized interpreter ID 60"));
  EXPECT_EQ(err,
            "Exception in thread Thread-2 (worker):\n"
            "RuntimeError: unrecognized interpreter ID 60\n");
  std::vector<ThreadError> errors = rt->TakeUncaughtThreadErrors();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].ToString(),
            "Exception in thread Thread-2 (worker): RuntimeError: "
            "unrecognized interpreter ID 60");
  EXPECT_TRUE(rt->TakeUncaughtThreadErrors().empty());
}

TEST(Thread, StartInAnUnknownInterpreterFails) {
  std::unique_ptr<Runtime> rt = NewRuntime();
  ThreadOptions options;
  options.interpreter = 42;
  Thread thread(rt->main_thread(),
                [](ThreadState&) { return absl::OkStatus(); }, options);
  EXPECT_THAT(thread.Start(), StatusIs(absl::StatusCode::kNotFound,
                                       "unrecognized interpreter ID 42"));
  EXPECT_THAT(thread.Join(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(Thread, HandshakeAndBootstrapHitTheHookPointsInOrder) {
  std::vector<std::string> events;
  std::mutex mutex;
  RuntimeOptions options;
  options.bootstrap_work = absl::ZeroDuration();
  options.hook = [&](const HookEvent& event) {
    std::lock_guard<std::mutex> lock(mutex);
    events.push_back(std::string(event.is_main_thread ? "main " : "worker ") +
                     HookPointName(event.point) +
                     (event.blocking_call.empty()
                          ? ""
                          : " " + std::string(event.blocking_call)));
  };
  std::unique_ptr<Runtime> rt = NewRuntime(options);
  ThreadState& main = rt->main_thread();
  Thread thread(main, [](ThreadState&) { return absl::OkStatus(); });
  ASSERT_THAT(thread.Start(), IsOk());
  ASSERT_THAT(thread.Join(absl::Seconds(30)), IsOk());
  // The two threads' events interleave in any order once the starter has
  // released the GIL; each thread's own order is fixed.
  std::vector<std::string> worker_events, main_events;
  for (const std::string& e : events) {
    (e.rfind("worker", 0) == 0 ? worker_events : main_events).push_back(e);
  }
  EXPECT_THAT(worker_events, ElementsAre("worker kThreadStarted",
                                         "worker kThreadFinished"));
  EXPECT_THAT(main_events,
              ElementsAre("main kBlocking start", "main kBlocking join"));
}

}  // namespace
}  // namespace subinterp
