#include "runtime/runtime.h"

#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace subinterp {

// Interpreter is one interpreter's state. Fields change only with the GIL
// held.
struct Interpreter {
  explicit Interpreter(InterpreterId interp_id) : id(interp_id) {}
  const InterpreterId id;
  // thread_states counts thread states: a subinterpreter starts with its
  // head state (used by whichever thread runs a string in it); the main
  // interpreter has the main thread's and each runtime thread's.
  int thread_states = 0;
  // frame_depth is the head state's pushed frames: running when > 0.
  int frame_depth = 0;
};

// Channel is a cross-interpreter message queue.
struct Channel {
  std::mutex mutex;
  std::condition_variable cond;
  std::deque<std::string> messages;  // guarded by mutex
  bool closed = false;               // guarded by mutex
};

std::string PythonException(const absl::Status& status) {
  if (status.ok()) return "OK";
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      if (absl::StartsWith(status.message(), "SyntaxError:")) {
        return std::string(status.message());
      }
      return absl::StrCat("ValueError: ", status.message());
    case absl::StatusCode::kAborted:
      return absl::StrCat("RunFailedError: ", status.message());
    case absl::StatusCode::kDeadlineExceeded:
      return absl::StrCat("TimeoutError: ", status.message());
    default:
      return absl::StrCat("RuntimeError: ", status.message());
  }
}

std::string ThreadError::ToString() const {
  return absl::StrCat("Exception in thread ", thread_name, ": ",
                      PythonException(error));
}

// ---------------------------------------------------------------- ThreadState

ThreadState::ThreadState(Runtime& runtime, std::string name, bool is_main,
                         std::shared_ptr<Interpreter> home)
    : runtime_(runtime),
      name_(std::move(name)),
      is_main_(is_main),
      gil_id_(runtime.next_gil_id_.fetch_add(1)),
      home_(std::move(home)),
      current_(home_) {
  ++home_->thread_states;
}

ThreadState::~ThreadState() {
  if (!detached_) Detach();
}

void ThreadState::Detach() {
  detached_ = true;
  --home_->thread_states;
}

void ThreadState::CallHook(HookPoint point, InterpreterId interpreter,
                           bool running) {
  const RuntimeHook& hook = runtime_.options_.hook;
  if (!hook) return;
  HookEvent event;
  event.point = point;
  event.thread_name = name_;
  event.is_main_thread = is_main_;
  event.interpreter = interpreter;
  event.running = running;
  runtime_.gil_.Drop(gil_id_);
  hook(event);
  runtime_.gil_.Take(gil_id_);
}

bool ThreadState::CheckEvalBreaker() {
  eval_breaker_checks_.fetch_add(1, std::memory_order_relaxed);
  return runtime_.gil_.CheckEvalBreaker(gil_id_);
}

void ThreadState::EvalStep() {
  CheckEvalBreaker();
  // A bytecode's worth of work (xorshift rounds) that the optimiser keeps.
  uint64_t x = work_;
  for (int i = 0; i < 16; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
  }
  work_ = x;
}

void ThreadState::AllowThreads(absl::string_view what,
                               const std::function<void()>& blocking) {
  runtime_.gil_.Drop(gil_id_);
  if (runtime_.options_.hook) {
    HookEvent event;
    event.point = HookPoint::kBlocking;
    event.thread_name = name_;
    event.is_main_thread = is_main_;
    event.interpreter = current_->id;
    event.blocking_call = what;
    runtime_.options_.hook(event);
  }
  blocking();
  runtime_.gil_.Take(gil_id_);
}

void ThreadState::Sleep(absl::Duration duration) {
  CheckEvalBreaker();
  AllowThreads("sleep", [duration] { absl::SleepFor(duration); });
}

absl::StatusOr<std::shared_ptr<Interpreter>> ThreadState::LookUp(
    InterpreterId id) {
  if (id < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("ID must be a non-negative int, got ", id));
  }
  std::lock_guard<std::mutex> lock(runtime_.head_lock_);
  auto it = runtime_.interpreters_.find(id);
  if (it == runtime_.interpreters_.end()) {
    return absl::NotFoundError(
        absl::StrCat("unrecognized interpreter ID ", id));
  }
  return it->second;
}

absl::StatusOr<bool> ThreadState::RunningState(const Interpreter& interp) {
  if (interp.thread_states > 1) {
    return absl::FailedPreconditionError(
        "interpreter has more than one thread");
  }
  // The main interpreter's head state is the main thread's, which is always
  // executing code (the caller of this API is "Python" code).
  return interp.id == 0 || interp.frame_depth > 0;
}

absl::Status ThreadState::EnsureNotRunning(const Interpreter& interp) {
  FLAKY_ASSIGN_OR_RETURN(const bool running, RunningState(interp));
  CallHook(HookPoint::kRunningChecked, interp.id, running);
  if (running) {
    return absl::FailedPreconditionError("interpreter already running");
  }
  return absl::OkStatus();
}

absl::StatusOr<InterpreterId> ThreadState::CreateInterpreter() {
  CheckEvalBreaker();
  std::lock_guard<std::mutex> lock(runtime_.head_lock_);
  const InterpreterId id = runtime_.next_interpreter_id_++;
  auto interp = std::make_shared<Interpreter>(id);
  interp->thread_states = 1;  // its head thread state
  runtime_.interpreters_.emplace(id, std::move(interp));
  return id;
}

absl::Status ThreadState::DestroyInterpreter(InterpreterId id) {
  CheckEvalBreaker();
  FLAKY_ASSIGN_OR_RETURN(std::shared_ptr<Interpreter> interp, LookUp(id));
  if (interp == current_) {
    return absl::FailedPreconditionError(
        "cannot destroy the current interpreter");
  }
  FLAKY_RETURN_IF_ERROR(EnsureNotRunning(*interp));
  std::lock_guard<std::mutex> lock(runtime_.head_lock_);
  runtime_.interpreters_.erase(id);
  return absl::OkStatus();
}

std::vector<InterpreterId> ThreadState::ListAll() {
  CheckEvalBreaker();
  std::lock_guard<std::mutex> lock(runtime_.head_lock_);
  std::vector<InterpreterId> ids;
  ids.reserve(runtime_.interpreters_.size());
  for (const auto& [id, interp] : runtime_.interpreters_) ids.push_back(id);
  return ids;
}

InterpreterId ThreadState::GetCurrent() const { return current_->id; }

absl::StatusOr<bool> ThreadState::IsRunning(InterpreterId id) {
  CheckEvalBreaker();
  FLAKY_ASSIGN_OR_RETURN(std::shared_ptr<Interpreter> interp, LookUp(id));
  FLAKY_ASSIGN_OR_RETURN(const bool running, RunningState(*interp));
  CallHook(HookPoint::kRunningChecked, id, running);
  return running;
}

absl::Status ThreadState::RunString(InterpreterId id,
                                    absl::string_view script) {
  CheckEvalBreaker();
  FLAKY_ASSIGN_OR_RETURN(std::shared_ptr<Interpreter> interp, LookUp(id));
  FLAKY_RETURN_IF_ERROR(EnsureNotRunning(*interp));
  // From here to the frame push there is no eval-breaker check, as in
  // CPython's C code: only a stall that hands the GIL over *before* the
  // check above can let another thread in (or a test hook).
  std::shared_ptr<Interpreter> saved = std::exchange(current_, interp);
  absl::StatusOr<Program> program = ParseScript(script);
  if (!program.ok()) {
    current_ = std::move(saved);
    return program.status();
  }
  ++interp->frame_depth;
  CallHook(HookPoint::kFramePushed, id, true);
  absl::Status result = Eval(*program);
  --interp->frame_depth;
  current_ = std::move(saved);
  return result;
}

absl::Status ThreadState::Eval(const Program& program) {
  for (const Op& op : program.ops) {
    CheckEvalBreaker();
    switch (op.kind) {
      case OpKind::kPrint:
        if (runtime_.options_.stdout_sink) {
          runtime_.options_.stdout_sink(absl::StrCat(op.text, "\n"));
        }
        break;
      case OpKind::kSleep:
        AllowThreads("sleep", [&op] { absl::SleepFor(op.duration); });
        break;
      case OpKind::kRecv: {
        absl::StatusOr<std::string> message = Recv(op.number);
        if (!message.ok()) {
          return absl::AbortedError(absl::StrCat(
              "ChannelError: ", message.status().message(), " (line ",
              op.line, ")"));
        }
        break;
      }
      case OpKind::kSend: {
        absl::Status sent = Send(op.number, op.text);
        if (!sent.ok()) {
          return absl::AbortedError(absl::StrCat(
              "ChannelError: ", sent.message(), " (line ", op.line, ")"));
        }
        break;
      }
      case OpKind::kSpin:
        for (int64_t i = 0; i < op.number; ++i) EvalStep();
        break;
      case OpKind::kRaise:
        return absl::AbortedError(absl::StrCat(op.name, ": ", op.text));
    }
  }
  return absl::OkStatus();
}

ChannelId ThreadState::CreateChannel() {
  CheckEvalBreaker();
  std::lock_guard<std::mutex> lock(runtime_.head_lock_);
  const ChannelId id = runtime_.next_channel_id_++;
  runtime_.channels_.emplace(id, std::make_shared<Channel>());
  return id;
}

absl::StatusOr<std::shared_ptr<Channel>> ThreadState::FindChannel(
    ChannelId id) {
  std::lock_guard<std::mutex> lock(runtime_.head_lock_);
  auto it = runtime_.channels_.find(id);
  if (it == runtime_.channels_.end()) {
    return absl::NotFoundError(absl::StrCat("channel ", id, " not found"));
  }
  return it->second;
}

absl::Status ThreadState::Send(ChannelId id, std::string message) {
  CheckEvalBreaker();
  FLAKY_ASSIGN_OR_RETURN(std::shared_ptr<Channel> channel, FindChannel(id));
  {
    std::lock_guard<std::mutex> lock(channel->mutex);
    if (channel->closed) {
      return absl::FailedPreconditionError(
          absl::StrCat("channel ", id, " is closed"));
    }
    channel->messages.push_back(std::move(message));
  }
  channel->cond.notify_one();
  return absl::OkStatus();
}

absl::StatusOr<std::string> ThreadState::Recv(ChannelId id) {
  CheckEvalBreaker();
  FLAKY_ASSIGN_OR_RETURN(std::shared_ptr<Channel> channel, FindChannel(id));
  std::string message;
  bool closed = false;
  AllowThreads("recv", [&] {
    std::unique_lock<std::mutex> lock(channel->mutex);
    channel->cond.wait(
        lock, [&] { return !channel->messages.empty() || channel->closed; });
    if (!channel->messages.empty()) {
      message = std::move(channel->messages.front());
      channel->messages.pop_front();
    } else {
      closed = true;
    }
  });
  if (closed) {
    return absl::FailedPreconditionError(
        absl::StrCat("channel ", id, " is closed"));
  }
  return message;
}

absl::Status ThreadState::CloseChannel(ChannelId id) {
  CheckEvalBreaker();
  FLAKY_ASSIGN_OR_RETURN(std::shared_ptr<Channel> channel, FindChannel(id));
  {
    std::lock_guard<std::mutex> lock(channel->mutex);
    channel->closed = true;
  }
  channel->cond.notify_all();
  return absl::OkStatus();
}

// -------------------------------------------------------------------- Runtime

Runtime::Runtime(RuntimeOptions options)
    : options_(std::move(options)), gil_(options_.switch_interval) {}

absl::StatusOr<std::unique_ptr<Runtime>> Runtime::Create(
    RuntimeOptions options) {
  FLAKY_RETURN_IF_ERROR(Gil::ValidateSwitchInterval(options.switch_interval));
  if (options.bootstrap_work < absl::ZeroDuration() ||
      options.bootstrap_work > absl::Seconds(10)) {
    return absl::InvalidArgumentError(
        absl::StrCat("bootstrap_work must be between 0 and 10s, got ",
                     absl::FormatDuration(options.bootstrap_work)));
  }
  std::unique_ptr<Runtime> runtime(new Runtime(std::move(options)));
  auto main_interp = std::make_shared<Interpreter>(0);
  runtime->interpreters_.emplace(0, main_interp);
  runtime->next_interpreter_id_ = 1;
  runtime->main_thread_ = std::unique_ptr<ThreadState>(
      new ThreadState(*runtime, "MainThread", /*is_main=*/true, main_interp));
  runtime->gil_.Take(runtime->main_thread_->gil_id());
  return runtime;
}

Runtime::~Runtime() {
  {
    std::lock_guard<std::mutex> lock(head_lock_);
    for (auto& [id, channel] : channels_) {
      std::lock_guard<std::mutex> channel_lock(channel->mutex);
      channel->closed = true;
      channel->cond.notify_all();
    }
    // Only the main thread may remain attached to the main interpreter.
    auto main_interp = interpreters_.find(0);
    if (main_interp != interpreters_.end() &&
        main_interp->second->thread_states != 1) {
      std::abort();  // a runtime thread outlives its runtime: join it first
    }
  }
  const GilHolderId main_id = main_thread_->gil_id();
  main_thread_.reset();
  gil_.DropAtExit(main_id);
}

absl::StatusOr<std::unique_ptr<ThreadState>> Runtime::NewThreadState(
    ThreadState& starter, absl::string_view target_name, InterpreterId home) {
  FLAKY_ASSIGN_OR_RETURN(std::shared_ptr<Interpreter> interp,
                         starter.LookUp(home));
  int64_t number = 0;
  {
    std::lock_guard<std::mutex> lock(head_lock_);
    number = next_thread_number_++;
  }
  return std::unique_ptr<ThreadState>(new ThreadState(
      *this, absl::StrCat("Thread-", number, " (", target_name, ")"),
      /*is_main=*/false, std::move(interp)));
}

void Runtime::ReportUncaught(ThreadError error) {
  if (options_.stderr_sink) {
    options_.stderr_sink(absl::StrCat("Exception in thread ",
                                      error.thread_name, ":\n",
                                      PythonException(error.error), "\n"));
  }
  std::lock_guard<std::mutex> lock(errors_lock_);
  uncaught_.push_back(std::move(error));
}

std::vector<ThreadError> Runtime::TakeUncaughtThreadErrors() {
  std::lock_guard<std::mutex> lock(errors_lock_);
  return std::exchange(uncaught_, {});
}

void Runtime::RegisterActive(const ThreadState& thread) {
  std::lock_guard<std::mutex> lock(active_lock_);
  active_.push_back(thread.gil_id());
}

void Runtime::UnregisterActive(const ThreadState& thread) {
  std::lock_guard<std::mutex> lock(active_lock_);
  for (auto it = active_.begin(); it != active_.end(); ++it) {
    if (*it == thread.gil_id()) {
      active_.erase(it);
      return;
    }
  }
}

}  // namespace subinterp
