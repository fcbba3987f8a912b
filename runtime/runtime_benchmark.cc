// Costs of the subinterpreter runtime: create/run_string/destroy, one
// eval-loop step (which sets the length of the thread bootstrap window),
// thread start+join, and GIL hand-off latency (voluntary and forced).
//
//   bazel run -c opt //runtime:runtime_benchmark
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "runtime/gil.h"
#include "runtime/runtime.h"
#include "runtime/thread.h"

namespace subinterp {
namespace {

std::unique_ptr<Runtime> NewRuntime() {
  absl::StatusOr<std::unique_ptr<Runtime>> runtime = Runtime::Create({});
  if (!runtime.ok()) std::abort();
  return *std::move(runtime);
}

void BM_CreateDestroy(benchmark::State& state) {
  std::unique_ptr<Runtime> runtime = NewRuntime();
  ThreadState& main = runtime->main_thread();
  for (auto _ : state) {
    absl::StatusOr<InterpreterId> id = main.CreateInterpreter();
    benchmark::DoNotOptimize(main.DestroyInterpreter(*id));
  }
}
BENCHMARK(BM_CreateDestroy);

void BM_RunString(benchmark::State& state) {
  std::unique_ptr<Runtime> runtime = NewRuntime();
  ThreadState& main = runtime->main_thread();
  const InterpreterId id = *main.CreateInterpreter();
  for (auto _ : state) {
    benchmark::DoNotOptimize(main.RunString(id, "spin 1\n"));
  }
}
BENCHMARK(BM_RunString);

void BM_CreateRunStringDestroy(benchmark::State& state) {
  std::unique_ptr<Runtime> runtime = NewRuntime();
  ThreadState& main = runtime->main_thread();
  for (auto _ : state) {
    absl::StatusOr<InterpreterId> id = main.CreateInterpreter();
    benchmark::DoNotOptimize(main.RunString(*id, "spin 1\n"));
    benchmark::DoNotOptimize(main.DestroyInterpreter(*id));
  }
}
BENCHMARK(BM_CreateRunStringDestroy);

// One eval-loop step: RuntimeOptions::bootstrap_work (0.1 ms) is about
// 0.1 ms / this many steps.
void BM_EvalStep(benchmark::State& state) {
  std::unique_ptr<Runtime> runtime = NewRuntime();
  ThreadState& main = runtime->main_thread();
  for (auto _ : state) main.EvalStep();
}
BENCHMARK(BM_EvalStep);

void BM_ThreadStartJoin(benchmark::State& state) {
  std::unique_ptr<Runtime> runtime = NewRuntime();
  ThreadState& main = runtime->main_thread();
  for (auto _ : state) {
    Thread thread(main, [](ThreadState&) { return absl::OkStatus(); });
    benchmark::DoNotOptimize(thread.Start());
    benchmark::DoNotOptimize(thread.Join());
  }
}
BENCHMARK(BM_ThreadStartJoin)->UseRealTime();

// Voluntary hand-off: a message round trip between the main thread and a
// runtime thread costs two GIL hand-offs (each side blocks in recv).
void BM_GilHandOffPingPong(benchmark::State& state) {
  std::unique_ptr<Runtime> runtime = NewRuntime();
  ThreadState& main = runtime->main_thread();
  const ChannelId ping = main.CreateChannel();
  const ChannelId pong = main.CreateChannel();
  Thread echo(main, [&](ThreadState& self) -> absl::Status {
    while (true) {
      absl::StatusOr<std::string> message = self.Recv(ping);
      if (!message.ok() || *message == "stop") return absl::OkStatus();
      (void)self.Send(pong, *message);
    }
  });
  (void)echo.Start();
  for (auto _ : state) {
    (void)main.Send(ping, "x");
    benchmark::DoNotOptimize(main.Recv(pong));
  }
  (void)main.Send(ping, "stop");
  (void)echo.Join();
  state.SetItemsProcessed(2 * state.iterations());
}
BENCHMARK(BM_GilHandOffPingPong)->UseRealTime();

// Forced hand-off: a holder spins with eval-breaker checks; the waiter's
// Take waits one switch interval, sets a drop request and is handed the
// lock. Argument: switch interval in microseconds.
void BM_GilForcedHandOff(benchmark::State& state) {
  Gil gil(absl::Microseconds(state.range(0)));
  constexpr GilHolderId kSpinner = 1, kWaiter = 2;
  std::atomic<bool> stop{false};
  gil.Take(kSpinner);
  std::thread spinner([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      gil.CheckEvalBreaker(kSpinner);
    }
    gil.Drop(kSpinner);
  });
  for (auto _ : state) {
    // Time only the Take: the spinner must hold the lock when it starts.
    while (gil.holder() != kSpinner) std::this_thread::yield();
    const auto start = std::chrono::steady_clock::now();
    gil.Take(kWaiter);
    const auto stop = std::chrono::steady_clock::now();
    state.SetIterationTime(std::chrono::duration<double>(stop - start).count());
    gil.Drop(kWaiter);
  }
  stop.store(true);
  spinner.join();
  state.counters["forced_switches"] =
      static_cast<double>(gil.forced_switches_total());
}
BENCHMARK(BM_GilForcedHandOff)
    ->Arg(100)
    ->Arg(1000)
    ->Arg(5000)
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace subinterp
