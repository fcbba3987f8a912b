#include "runtime/thread.h"

#include <time.h>

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"

namespace subinterp {
namespace {

absl::Duration ThreadCpuTime() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return absl::DurationFromTimespec(ts);
}

}  // namespace

Thread::Thread(ThreadState& starter, ThreadTarget target,
               ThreadOptions options)
    : starter_(starter),
      target_(std::move(target)),
      options_(std::move(options)) {}

Thread::~Thread() {
  if (os_thread_.joinable()) {
    (void)Join();
  }
}

absl::Status Thread::Start() {
  starter_.CheckEvalBreaker();
  if (start_called_) {
    return absl::FailedPreconditionError("threads can only be started once");
  }
  absl::StatusOr<std::unique_ptr<ThreadState>> state =
      starter_.runtime().NewThreadState(starter_, options_.target_name,
                                        options_.interpreter);
  if (!state.ok()) return state.status();
  start_called_ = true;
  state_ = *std::move(state);
  // Like _start_new_thread, the OS thread is created with the GIL held.
  os_thread_ = std::thread(&Thread::Bootstrap, state_.get(), target_,
                           handshake_);
  // Thread.start(): self._started.wait(), with the GIL released.
  std::shared_ptr<Handshake> handshake = handshake_;
  starter_.AllowThreads("start", [&handshake] {
    std::unique_lock<std::mutex> lock(handshake->mutex);
    handshake->cond.wait(lock, [&] { return handshake->started; });
  });
  return absl::OkStatus();
}

void Thread::Bootstrap(ThreadState* self, ThreadTarget target,
                       std::shared_ptr<Handshake> handshake) {
  Runtime& runtime = self->runtime();
  runtime.gil().Take(self->gil_id());
  // _bootstrap_inner: self._started.set(). The flag is set under the mutex
  // and the signal sent after unlocking, so the starter can run (and queue
  // for the GIL) as soon as the signal is out, as it can in CPython once
  // the semaphore post inside Event.set() has happened.
  {
    std::lock_guard<std::mutex> lock(handshake->mutex);
    handshake->started = true;
  }
  handshake->cond.notify_all();
  // with _active_limbo_lock: _active[ident] = self
  runtime.RegisterActive(*self);
  self->CallHook(HookPoint::kThreadStarted, self->GetCurrent(), false);
  // The rest of _bootstrap_inner, self.run(), the target's own code up to
  // its run_string call: ~0.1 ms of bytecode with eval-breaker checks.
  const absl::Duration work = runtime.options().bootstrap_work;
  if (work > absl::ZeroDuration()) {
    const absl::Duration start = ThreadCpuTime();
    do {
      for (int i = 0; i < 16; ++i) self->EvalStep();
    } while (ThreadCpuTime() - start < work);
  }
  absl::Status result = target(*self);
  if (!result.ok()) runtime.ReportUncaught({self->name(), result});
  self->CallHook(HookPoint::kThreadFinished, self->GetCurrent(), false);
  runtime.UnregisterActive(*self);
  self->Detach();
  const GilHolderId gil_id = self->gil_id();
  {
    std::lock_guard<std::mutex> lock(handshake->mutex);
    handshake->finished = true;
    handshake->result = result;
  }
  handshake->cond.notify_all();
  runtime.gil().DropAtExit(gil_id);
}

absl::Status Thread::Join(absl::Duration timeout) {
  if (!start_called_) {
    return absl::FailedPreconditionError(
        "cannot join thread before it is started");
  }
  if (joined_) return absl::OkStatus();
  starter_.CheckEvalBreaker();
  bool finished = false;
  std::shared_ptr<Handshake> handshake = handshake_;
  starter_.AllowThreads("join", [&] {
    std::unique_lock<std::mutex> lock(handshake->mutex);
    auto done = [&] { return handshake->finished; };
    if (timeout == absl::InfiniteDuration()) {
      handshake->cond.wait(lock, done);
      finished = true;
    } else {
      finished = handshake->cond.wait_for(
          lock, absl::ToChronoMicroseconds(timeout), done);
    }
  });
  if (!finished) {
    return absl::DeadlineExceededError(
        absl::StrCat("thread ", state_->name(), " did not finish within ",
                     absl::FormatDuration(timeout)));
  }
  // The thread only has to drop the GIL, which needs no GIL, and exit.
  os_thread_.join();
  joined_ = true;
  {
    std::lock_guard<std::mutex> lock(handshake->mutex);
    result_ = handshake->result;
  }
  return absl::OkStatus();
}

bool Thread::is_alive() const {
  std::lock_guard<std::mutex> lock(handshake_->mutex);
  return handshake_->started && !handshake_->finished;
}

std::string Thread::name() const {
  return state_ == nullptr ? std::string() : state_->name();
}

}  // namespace subinterp
