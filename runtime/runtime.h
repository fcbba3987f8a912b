// A model of CPython's subinterpreter runtime (_xxsubinterpreters on
// 3.9-3.11): an interpreter registry, run_string with CPython's unlocked gap
// between the "already running" check and the frame push, cross-interpreter
// channels, and one GIL shared by all interpreters. It exists so that the
// race of bpo-37224 (tests/race/) behaves here as it did in CPython.
//
//   absl::StatusOr<std::unique_ptr<Runtime>> rt = Runtime::Create({});
//   ThreadState& main = (*rt)->main_thread();   // holds the GIL
//   absl::StatusOr<InterpreterId> id = main.CreateInterpreter();
//   absl::Status s = main.RunString(*id, "print \"spam\"");
//   s = main.DestroyInterpreter(*id);
//
// The calling thread of Runtime::Create becomes the main thread and holds the
// GIL from then on, as a Python main thread running code does; it gives the
// GIL up only while it blocks (sleep, receive, thread start, join) and when
// another thread's drop request reaches one of its eval-breaker checks (each
// ThreadState call that can fail or block starts with one, like the CALL
// instruction that invokes it).
// Errors carry CPython's messages; PythonException() renders them as the
// exception CPython would raise ("RuntimeError: unrecognized interpreter ID 7").
#ifndef SUBINTERP_RUNTIME_RUNTIME_H_
#define SUBINTERP_RUNTIME_RUNTIME_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "runtime/gil.h"
#include "runtime/options.h"
#include "runtime/script.h"

namespace subinterp {

// InterpreterId: main is 0; IDs are never reused.
using InterpreterId = int64_t;
// ChannelId: channels are numbered from 0 per runtime.
using ChannelId = int64_t;

// PythonException renders a non-OK status as the exception CPython raises:
// NotFound/FailedPrecondition/others -> "RuntimeError: <msg>",
// InvalidArgument -> "ValueError: <msg>" (or the message itself when it is a
// "SyntaxError: ..."), Aborted (a script's own error) -> "RunFailedError:
// <msg>", DeadlineExceeded -> "TimeoutError: <msg>". "OK" for OK.
std::string PythonException(const absl::Status& status);

// ThreadError is an uncaught error of a runtime thread's target.
struct ThreadError {
  std::string thread_name;  // "Thread-1 (run)"
  absl::Status error;
  // ToString: "Exception in thread Thread-1 (run): RuntimeError: ..." on
  // one line (CPython prints the same over two).
  std::string ToString() const;
};

class Runtime;
class Thread;
struct Interpreter;
struct Channel;

// ThreadState is one OS thread attached to a Runtime (CPython: the thread's
// PyThreadState and its claim on the GIL). Every method must be called from
// that thread while it holds the GIL, which it does at all times outside the
// blocking calls below; methods may drop and re-take the GIL at their
// eval-breaker check. Not thread-safe otherwise.
class ThreadState {
 public:
  ThreadState(const ThreadState&) = delete;
  ThreadState& operator=(const ThreadState&) = delete;
  ~ThreadState();

  // runtime returns the owning runtime.
  Runtime& runtime() const { return runtime_; }
  // name returns "MainThread" or "Thread-N (target)".
  const std::string& name() const { return name_; }
  // is_main_thread: true for the thread that created the runtime.
  bool is_main_thread() const { return is_main_; }
  // gil_id identifies this thread state to the GIL.
  GilHolderId gil_id() const { return gil_id_; }

  // CreateInterpreter creates an interpreter with the next ID.
  absl::StatusOr<InterpreterId> CreateInterpreter();

  // DestroyInterpreter destroys `id`. Errors: InvalidArgument for a negative
  // ID; NotFound "unrecognized interpreter ID <id>"; FailedPrecondition
  // "cannot destroy the current interpreter", "interpreter has more than one
  // thread", "interpreter already running".
  absl::Status DestroyInterpreter(InterpreterId id);

  // ListAll returns the live interpreter IDs in creation order.
  std::vector<InterpreterId> ListAll();

  // GetCurrent returns the interpreter this thread is currently in.
  InterpreterId GetCurrent() const;

  // GetMain returns the main interpreter's ID (0).
  InterpreterId GetMain() const { return 0; }

  // IsRunning reports whether `id` has a frame pushed (the main interpreter
  // always does). Errors as DestroyInterpreter's lookup, plus
  // FailedPrecondition "interpreter has more than one thread".
  absl::StatusOr<bool> IsRunning(InterpreterId id);

  // RunString runs `script` (see script.h) in interpreter `id` from this
  // thread: look up; fail with FailedPrecondition "interpreter already
  // running" if running; switch to the interpreter; parse (InvalidArgument
  // "SyntaxError: line L, column C: ..."); push the frame (from here on the
  // interpreter is running); evaluate with an eval-breaker check before
  // every statement and spin step; pop; switch back. As in CPython nothing
  // but the GIL covers the gap between the check and the frame push. An
  // error raised by the script is Aborted "<Type>: <message>" (CPython's
  // RunFailedError). Errors of the lookup as DestroyInterpreter's.
  absl::Status RunString(InterpreterId id, absl::string_view script);

  // CreateChannel creates an empty open channel.
  ChannelId CreateChannel();
  // Send queues `message` on `id`. NotFound "channel <id> not found",
  // FailedPrecondition "channel <id> is closed".
  absl::Status Send(ChannelId id, std::string message);
  // Recv takes the oldest message of `id`, blocking with the GIL released
  // while the channel is empty. Errors as Send's, also when the channel is
  // closed while waiting.
  absl::StatusOr<std::string> Recv(ChannelId id);
  // CloseChannel closes `id` and wakes its receivers. NotFound as Send's;
  // closing twice is OK.
  absl::Status CloseChannel(ChannelId id);

  // Sleep sleeps with the GIL released (time.sleep).
  void Sleep(absl::Duration duration);

  // AllowThreads runs `blocking` with the GIL released
  // (Py_BEGIN_ALLOW_THREADS); `blocking` must not call this ThreadState.
  // `what` names the call for the kBlocking hook ("sleep", "join", ...).
  void AllowThreads(absl::string_view what,
                    const std::function<void()>& blocking);

  // EvalStep is one eval-loop instruction: an eval-breaker check followed
  // by a few tens of nanoseconds of work.
  void EvalStep();

  // CheckEvalBreaker is the eval loop's check alone; true if it switched.
  bool CheckEvalBreaker();

  // eval_breaker_checks counts this thread's eval-breaker checks; readable
  // from any thread.
  uint64_t eval_breaker_checks() const {
    return eval_breaker_checks_.load(std::memory_order_relaxed);
  }

  // CallHook calls the runtime's hook, if any, with the GIL released.
  void CallHook(HookPoint point, InterpreterId interpreter, bool running);

 private:
  friend class Runtime;
  friend class Thread;
  ThreadState(Runtime& runtime, std::string name, bool is_main,
              std::shared_ptr<Interpreter> home);

  // LookUp: negative -> InvalidArgument, unknown -> NotFound.
  absl::StatusOr<std::shared_ptr<Interpreter>> LookUp(InterpreterId id);
  // EnsureNotRunning: the shared check of run_string and destroy.
  absl::Status EnsureNotRunning(const Interpreter& interp);
  absl::StatusOr<bool> RunningState(const Interpreter& interp);
  absl::Status Eval(const Program& program);
  absl::StatusOr<std::shared_ptr<Channel>> FindChannel(ChannelId id);
  // Detach leaves the home interpreter (a thread state being deleted);
  // called once, with the GIL held, by a finishing runtime thread.
  void Detach();

  Runtime& runtime_;
  const std::string name_;
  const bool is_main_;
  const GilHolderId gil_id_;
  std::shared_ptr<Interpreter> home_;
  std::shared_ptr<Interpreter> current_;
  std::atomic<uint64_t> eval_breaker_checks_{0};
  uint64_t work_ = 0x9e3779b97f4a7c15ULL;
  bool detached_ = false;
};

// Runtime owns the GIL, the interpreters and the channels. Create it on the
// thread that will be the main thread; destroy it there after every runtime
// thread has been joined.
class Runtime {
 public:
  // Create makes the main interpreter (ID 0) and the main thread state and
  // takes the GIL for the calling thread. InvalidArgument for a bad switch
  // interval or a bootstrap_work outside [0, 10s].
  static absl::StatusOr<std::unique_ptr<Runtime>> Create(
      RuntimeOptions options);

  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;
  // ~Runtime closes all channels and releases the GIL. Aborts if a runtime
  // thread is still attached (join threads first).
  ~Runtime();

  // main_thread returns the main thread's state.
  ThreadState& main_thread() { return *main_thread_; }

  // gil returns the lock (for its switch interval and statistics).
  Gil& gil() { return gil_; }

  // options returns the options the runtime was created with.
  const RuntimeOptions& options() const { return options_; }

  // SetSwitchInterval is sys.setswitchinterval. InvalidArgument unless
  // positive. Thread-safe.
  absl::Status SetSwitchInterval(absl::Duration interval) {
    return gil_.SetSwitchInterval(interval);
  }

  // NewThreadState creates the state for a new runtime thread, belonging to
  // interpreter `home` (CPython creates it in the starting thread). Called
  // with the GIL held by `starter`. NotFound for an unknown interpreter.
  absl::StatusOr<std::unique_ptr<ThreadState>> NewThreadState(
      ThreadState& starter, absl::string_view target_name,
      InterpreterId home);

  // ReportUncaught records a runtime thread's uncaught error and writes
  // CPython's two-line report to the stderr sink. Called with the GIL held.
  void ReportUncaught(ThreadError error);

  // TakeUncaughtThreadErrors returns and forgets the recorded errors.
  // Thread-safe.
  std::vector<ThreadError> TakeUncaughtThreadErrors();

  // RegisterActive/UnregisterActive keep threading's _active table: the
  // unlock of its lock right after the start handshake is one of the
  // places where CPython's worker can stall. Thread-safe.
  void RegisterActive(const ThreadState& thread);
  void UnregisterActive(const ThreadState& thread);

 private:
  friend class ThreadState;
  explicit Runtime(RuntimeOptions options);

  const RuntimeOptions options_;
  Gil gil_;
  std::atomic<GilHolderId> next_gil_id_{1};

  // head_lock_ guards the tables below (CPython's HEAD_LOCK); they are also
  // only touched with the GIL held.
  std::mutex head_lock_;
  InterpreterId next_interpreter_id_ = 0;
  std::map<InterpreterId, std::shared_ptr<Interpreter>> interpreters_;
  ChannelId next_channel_id_ = 0;
  std::map<ChannelId, std::shared_ptr<Channel>> channels_;
  int64_t next_thread_number_ = 1;

  std::mutex active_lock_;
  std::vector<GilHolderId> active_;

  std::mutex errors_lock_;
  std::vector<ThreadError> uncaught_;

  std::unique_ptr<ThreadState> main_thread_;
};

}  // namespace subinterp

#endif  // SUBINTERP_RUNTIME_RUNTIME_H_
