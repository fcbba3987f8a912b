#include "runtime/runtime.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/thread.h"

namespace subinterp {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr auto kDeadline = std::chrono::seconds(30);

std::unique_ptr<Runtime> NewRuntime(RuntimeOptions options = {}) {
  absl::StatusOr<std::unique_ptr<Runtime>> runtime =
      Runtime::Create(std::move(options));
  EXPECT_TRUE(runtime.ok()) << runtime.status();
  return runtime.ok() ? *std::move(runtime) : nullptr;
}

// WaitUntilRunning polls is_running with the GIL released in between, as
// the fixed race helper does; false after a generous deadline.
bool WaitUntilRunning(ThreadState& main, InterpreterId id) {
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (std::chrono::steady_clock::now() < deadline) {
    absl::StatusOr<bool> running = main.IsRunning(id);
    if (running.ok() && *running) return true;
    main.Sleep(absl::Microseconds(200));
  }
  return false;
}

TEST(Runtime, MainInterpreterIsZeroAndCurrent) {
  std::unique_ptr<Runtime> rt = NewRuntime();
  ThreadState& main = rt->main_thread();
  EXPECT_THAT(main.ListAll(), ElementsAre(0));
  EXPECT_EQ(main.GetCurrent(), 0);
  EXPECT_EQ(main.GetMain(), 0);
  EXPECT_TRUE(main.is_main_thread());
  EXPECT_EQ(main.name(), "MainThread");
  EXPECT_EQ(rt->gil().holder(), main.gil_id());
}

TEST(Runtime, CreateRejectsBadOptions) {
  RuntimeOptions zero_interval;
  zero_interval.switch_interval = absl::ZeroDuration();
  EXPECT_THAT(Runtime::Create(zero_interval),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("switch interval must be strictly positive")));
  RuntimeOptions negative_work;
  negative_work.bootstrap_work = absl::Microseconds(-1);
  EXPECT_THAT(Runtime::Create(negative_work),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("bootstrap_work must be between 0 and 10s")));
}

TEST(Runtime, SetSwitchIntervalValidates) {
  std::unique_ptr<Runtime> rt = NewRuntime();
  EXPECT_THAT(rt->SetSwitchInterval(absl::Microseconds(0)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_THAT(rt->SetSwitchInterval(absl::Microseconds(250)), IsOk());
  EXPECT_EQ(rt->gil().switch_interval(), absl::Microseconds(250));
}

TEST(Runtime, IdsIncreaseAndAreNeverReused) {
  std::unique_ptr<Runtime> rt = NewRuntime();
  ThreadState& main = rt->main_thread();
  EXPECT_THAT(main.CreateInterpreter(), absl::StatusOr<InterpreterId>(1));
  EXPECT_THAT(main.CreateInterpreter(), absl::StatusOr<InterpreterId>(2));
  ASSERT_THAT(main.DestroyInterpreter(2), IsOk());
  EXPECT_THAT(main.CreateInterpreter(), absl::StatusOr<InterpreterId>(3));
  EXPECT_THAT(main.ListAll(), ElementsAre(0, 1, 3));
}

TEST(Runtime, UnknownAndNegativeIdsFailEverywhere) {
  std::unique_ptr<Runtime> rt = NewRuntime();
  ThreadState& main = rt->main_thread();
  EXPECT_THAT(main.DestroyInterpreter(60),
              StatusIs(absl::StatusCode::kNotFound,
                       "unrecognized interpreter ID 60"));
  EXPECT_THAT(main.RunString(60, "print \"x\""),
              StatusIs(absl::StatusCode::kNotFound,
                       "unrecognized interpreter ID 60"));
  EXPECT_THAT(main.IsRunning(60), StatusIs(absl::StatusCode::kNotFound,
                                           "unrecognized interpreter ID 60"));
  for (InterpreterId bad : {-1, -60}) {
    const std::string message =
        "ID must be a non-negative int, got " + std::to_string(bad);
    EXPECT_THAT(main.DestroyInterpreter(bad),
                StatusIs(absl::StatusCode::kInvalidArgument, message));
    EXPECT_THAT(main.RunString(bad, ""),
                StatusIs(absl::StatusCode::kInvalidArgument, message));
    EXPECT_THAT(main.IsRunning(bad),
                StatusIs(absl::StatusCode::kInvalidArgument, message));
  }
}

TEST(Runtime, CannotDestroyTheCurrentInterpreter) {
  std::unique_ptr<Runtime> rt = NewRuntime();
  EXPECT_THAT(rt->main_thread().DestroyInterpreter(0),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "cannot destroy the current interpreter"));
}

TEST(Runtime, MainInterpreterIsAlwaysRunning) {
  std::unique_ptr<Runtime> rt = NewRuntime();
  ThreadState& main = rt->main_thread();
  EXPECT_THAT(main.IsRunning(0), absl::StatusOr<bool>(true));
  EXPECT_THAT(main.RunString(0, "print \"x\""),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "interpreter already running"));
}

TEST(Runtime, RunStringPrintsAndLeavesTheInterpreterIdle) {
  std::string out;
  RuntimeOptions options;
  options.stdout_sink = [&out](absl::string_view text) { out.append(text.data(), text.size()); };
  std::unique_ptr<Runtime> rt = NewRuntime(options);
  ThreadState& main = rt->main_thread();
  const InterpreterId id = *main.CreateInterpreter();
  EXPECT_THAT(main.IsRunning(id), absl::StatusOr<bool>(false));
  ASSERT_THAT(main.RunString(id, "print \"spam\"\nspin 10\nsleep 0s\n"),
              IsOk());
  EXPECT_EQ(out, "spam\n");
  EXPECT_THAT(main.IsRunning(id), absl::StatusOr<bool>(false));
  EXPECT_EQ(main.GetCurrent(), 0);
  EXPECT_THAT(main.DestroyInterpreter(id), IsOk());
}

TEST(Runtime, RunStringReportsScriptErrorsAsRunFailed) {
  std::unique_ptr<Runtime> rt = NewRuntime();
  ThreadState& main = rt->main_thread();
  const InterpreterId id = *main.CreateInterpreter();
  absl::Status status = main.RunString(id, "spin 3\nraise ValueError \"boom\"");
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kAborted, "ValueError: boom"));
  EXPECT_EQ(PythonException(status), "RunFailedError: ValueError: boom");
  EXPECT_THAT(main.IsRunning(id), absl::StatusOr<bool>(false));
  EXPECT_EQ(main.GetCurrent(), 0);
}

TEST(Runtime, RunStringReportsSyntaxErrorsWithLineAndColumn) {
  std::unique_ptr<Runtime> rt = NewRuntime();
  ThreadState& main = rt->main_thread();
  const InterpreterId id = *main.CreateInterpreter();
  absl::Status status = main.RunString(id, "spin 1\nspin many");
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument,
                               HasSubstr("SyntaxError: line 2, column 6")));
  EXPECT_EQ(PythonException(status), status.message());
  EXPECT_THAT(main.IsRunning(id), absl::StatusOr<bool>(false));
  EXPECT_EQ(main.GetCurrent(), 0);
}

TEST(Runtime, RunningInterpreterCannotBeRunOrDestroyed) {
  std::unique_ptr<Runtime> rt = NewRuntime();
  ThreadState& main = rt->main_thread();
  const InterpreterId id = *main.CreateInterpreter();
  const ChannelId channel = main.CreateChannel();
  Thread worker(main, [&](ThreadState& self) {
    return self.RunString(id, "recv " + std::to_string(channel));
  });
  ASSERT_THAT(worker.Start(), IsOk());
  ASSERT_TRUE(WaitUntilRunning(main, id)) << "worker never pushed its frame";
  EXPECT_THAT(main.RunString(id, "print \"spam\""),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "interpreter already running"));
  EXPECT_THAT(main.DestroyInterpreter(id),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "interpreter already running"));
  ASSERT_THAT(main.Send(channel, "done"), IsOk());
  ASSERT_THAT(worker.Join(absl::Seconds(30)), IsOk());
  EXPECT_THAT(worker.result(), IsOk());
  EXPECT_THAT(main.IsRunning(id), absl::StatusOr<bool>(false));
  EXPECT_THAT(main.DestroyInterpreter(id), IsOk());
}

TEST(Runtime, InterpreterWithTwoThreadStatesIsRejected) {
  std::unique_ptr<Runtime> rt = NewRuntime();
  ThreadState& main = rt->main_thread();
  const InterpreterId id = *main.CreateInterpreter();
  const ChannelId channel = main.CreateChannel();
  ThreadOptions in_subinterpreter;
  in_subinterpreter.interpreter = id;
  Thread worker(
      main,
      [&](ThreadState& self) -> absl::Status {
        if (self.GetCurrent() != id) return absl::InternalError("wrong home");
        return self.Recv(channel).status();
      },
      in_subinterpreter);
  ASSERT_THAT(worker.Start(), IsOk());
  const absl::Status two_threads = absl::FailedPreconditionError(
      "interpreter has more than one thread");
  EXPECT_EQ(main.IsRunning(id).status(), two_threads);
  EXPECT_EQ(main.DestroyInterpreter(id), two_threads);
  EXPECT_EQ(main.RunString(id, ""), two_threads);
  ASSERT_THAT(main.Send(channel, "done"), IsOk());
  ASSERT_THAT(worker.Join(absl::Seconds(30)), IsOk());
  EXPECT_THAT(worker.result(), IsOk());
  EXPECT_THAT(main.IsRunning(id), absl::StatusOr<bool>(false));
}

TEST(Runtime, ChannelErrors) {
  std::unique_ptr<Runtime> rt = NewRuntime();
  ThreadState& main = rt->main_thread();
  EXPECT_THAT(main.Send(5, "x"),
              StatusIs(absl::StatusCode::kNotFound, "channel 5 not found"));
  EXPECT_THAT(main.Recv(5),
              StatusIs(absl::StatusCode::kNotFound, "channel 5 not found"));
  EXPECT_THAT(main.CloseChannel(5),
              StatusIs(absl::StatusCode::kNotFound, "channel 5 not found"));
  const ChannelId channel = main.CreateChannel();
  ASSERT_THAT(main.Send(channel, "a"), IsOk());
  ASSERT_THAT(main.Send(channel, "b"), IsOk());
  EXPECT_THAT(main.Recv(channel), absl::StatusOr<std::string>("a"));
  ASSERT_THAT(main.CloseChannel(channel), IsOk());
  ASSERT_THAT(main.CloseChannel(channel), IsOk());
  EXPECT_THAT(main.Send(channel, "c"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "channel 0 is closed"));
  // Queued messages are still delivered after close; then it fails.
  EXPECT_THAT(main.Recv(channel), absl::StatusOr<std::string>("b"));
  EXPECT_THAT(main.Recv(channel),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "channel 0 is closed"));
  const InterpreterId id = *main.CreateInterpreter();
  EXPECT_THAT(main.RunString(id, "recv 0"),
              StatusIs(absl::StatusCode::kAborted,
                       "ChannelError: channel 0 is closed (line 1)"));
  EXPECT_THAT(main.RunString(id, "\nsend 9 \"x\""),
              StatusIs(absl::StatusCode::kAborted,
                       "ChannelError: channel 9 not found (line 2)"));
}

TEST(Runtime, CloseWakesABlockedReceiver) {
  std::unique_ptr<Runtime> rt = NewRuntime();
  ThreadState& main = rt->main_thread();
  const InterpreterId id = *main.CreateInterpreter();
  const ChannelId channel = main.CreateChannel();
  Thread worker(main, [&](ThreadState& self) {
    return self.RunString(id, "recv " + std::to_string(channel));
  });
  ASSERT_THAT(worker.Start(), IsOk());
  ASSERT_TRUE(WaitUntilRunning(main, id));
  ASSERT_THAT(main.CloseChannel(channel), IsOk());
  ASSERT_THAT(worker.Join(absl::Seconds(30)), IsOk());
  EXPECT_THAT(worker.result(),
              StatusIs(absl::StatusCode::kAborted,
                       "ChannelError: channel 0 is closed (line 1)"));
}

TEST(Runtime, HookSeesTheCheckThenTheFramePushWithTheGilReleased) {
  struct Seen {
    HookPoint point;
    int64_t interpreter;
    bool running;
    bool gil_free;
    std::string blocking_call;
  };
  std::vector<Seen> seen;
  Runtime* runtime = nullptr;
  RuntimeOptions options;
  options.hook = [&](const HookEvent& event) {
    seen.push_back({event.point, event.interpreter, event.running,
                    runtime->gil().holder() == kNoGilHolder,
                    std::string(event.blocking_call)});
  };
  std::unique_ptr<Runtime> rt = NewRuntime(options);
  runtime = rt.get();
  ThreadState& main = rt->main_thread();
  const InterpreterId id = *main.CreateInterpreter();
  ASSERT_THAT(main.RunString(id, "sleep 0s"), IsOk());
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].point, HookPoint::kRunningChecked);
  EXPECT_FALSE(seen[0].running);
  EXPECT_EQ(seen[1].point, HookPoint::kFramePushed);
  EXPECT_EQ(seen[1].interpreter, id);
  EXPECT_EQ(seen[2].point, HookPoint::kBlocking);
  EXPECT_EQ(seen[2].blocking_call, "sleep");
  for (const Seen& s : seen) EXPECT_TRUE(s.gil_free);
}

TEST(Runtime, TwoSpinningThreadsBothMakeProgressWithOneMillisecondInterval) {
  RuntimeOptions options;
  options.switch_interval = absl::Milliseconds(1);
  std::unique_ptr<Runtime> rt = NewRuntime(options);
  ThreadState& main = rt->main_thread();
  constexpr uint64_t kSteps = 2000;
  std::atomic<uint64_t> main_steps{0}, worker_steps{0};
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  // Each side spins until the other has made progress too: without forced
  // hand-overs the first one to hold the GIL would spin until the deadline.
  Thread worker(main, [&](ThreadState& self) -> absl::Status {
    while (worker_steps.load() < kSteps || main_steps.load() < kSteps) {
      self.EvalStep();
      worker_steps.fetch_add(1);
      if (std::chrono::steady_clock::now() > deadline) {
        return absl::DeadlineExceededError("worker starved");
      }
    }
    return absl::OkStatus();
  });
  ASSERT_THAT(worker.Start(), IsOk());
  while (main_steps.load() < kSteps || worker_steps.load() < kSteps) {
    main.EvalStep();
    main_steps.fetch_add(1);
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "main starved";
  }
  ASSERT_THAT(worker.Join(absl::Seconds(30)), IsOk());
  EXPECT_THAT(worker.result(), IsOk());
  EXPECT_GE(main_steps.load(), kSteps);
  EXPECT_GE(worker_steps.load(), kSteps);
  EXPECT_GE(rt->gil().drop_requests_total(), 1u);
}

TEST(Runtime, DropRequestIsHonouredAtTheNextEvalBreakerCheck) {
  RuntimeOptions options;
  options.switch_interval = absl::Milliseconds(1);
  std::unique_ptr<Runtime> rt = NewRuntime(options);
  ThreadState& main = rt->main_thread();
  const ChannelId channel = main.CreateChannel();
  std::atomic<bool> worker_ran{false};
  Thread worker(main, [&](ThreadState& self) -> absl::Status {
    absl::Status got = self.Recv(channel).status();
    worker_ran.store(true);
    return got;
  });
  ASSERT_THAT(worker.Start(), IsOk());
  // The send wakes the worker, which then waits for the GIL; main holds it
  // without checking until the worker's timed wait has asked for it.
  ASSERT_THAT(main.Send(channel, "go"), IsOk());
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (!rt->gil().drop_requested()) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
    std::this_thread::yield();
  }
  const uint64_t checks_before = main.eval_breaker_checks();
  const uint64_t switches_before = rt->gil().switch_number();
  while (!main.CheckEvalBreaker()) {
  }
  EXPECT_EQ(main.eval_breaker_checks() - checks_before, 1u);
  // The worker held the GIL in between: two changes of holder.
  EXPECT_GE(rt->gil().switch_number() - switches_before, 2u);
  ASSERT_THAT(worker.Join(absl::Seconds(30)), IsOk());
  EXPECT_TRUE(worker_ran.load());
}

TEST(PythonException, NamesTheExceptionCPythonWouldRaise) {
  EXPECT_EQ(PythonException(absl::OkStatus()), "OK");
  EXPECT_EQ(PythonException(absl::NotFoundError("unrecognized interpreter ID 7")),
            "RuntimeError: unrecognized interpreter ID 7");
  EXPECT_EQ(PythonException(
                absl::FailedPreconditionError("interpreter already running")),
            "RuntimeError: interpreter already running");
  EXPECT_EQ(PythonException(absl::InvalidArgumentError("ID must be ...")),
            "ValueError: ID must be ...");
  EXPECT_EQ(PythonException(absl::AbortedError("ValueError: boom")),
            "RunFailedError: ValueError: boom");
  EXPECT_EQ(PythonException(absl::DeadlineExceededError("slow")),
            "TimeoutError: slow");
}

}  // namespace
}  // namespace subinterp
