// Runtime threads with CPython's threading.Thread start handshake: Start()
// returns only after the new thread, holding the GIL, has signalled that it
// started; uncaught errors are reported like "Exception in thread ...".
//
//   Thread worker(main, [id](ThreadState& self) {
//     return self.RunString(id, "recv 0");
//   });
//   absl::Status started = worker.Start();   // GIL released while waiting
//   ...
//   absl::Status joined = worker.Join(absl::Seconds(30));
//
// The handshake is the heart of bpo-37224: the starter waits on a condition
// variable with the GIL released, the new thread takes the GIL, sets the
// flag and signals (a pthread_cond_broadcast, where the chaos preload may
// stall it while it holds the GIL), registers itself (a mutex unlock, the
// other stall point) and then spends RuntimeOptions::bootstrap_work of CPU
// time in eval-loop steps before the target: the window in which a starved worker loses the GIL to the
// starter's drop request.
#ifndef SUBINTERP_RUNTIME_THREAD_H_
#define SUBINTERP_RUNTIME_THREAD_H_

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "runtime/runtime.h"

namespace subinterp {

// ThreadTarget is the thread's body; a non-OK result is an uncaught error.
using ThreadTarget = std::function<absl::Status(ThreadState& self)>;

// ThreadOptions configures a Thread.
struct ThreadOptions {
  // target_name appears in the name: "Thread-N (target_name)".
  std::string target_name = "run";
  // interpreter the new thread state belongs to (threading.Thread: the
  // starter's; a subinterpreter gives it a second thread state).
  InterpreterId interpreter = 0;
};

// Thread is a runtime thread. Start/Join/destruction must happen on the
// starter's OS thread, holding the GIL; is_alive/name are thread-safe.
class Thread {
 public:
  // Thread prepares (does not start) a thread started by `starter`.
  Thread(ThreadState& starter, ThreadTarget target, ThreadOptions options = {});
  Thread(const Thread&) = delete;
  Thread& operator=(const Thread&) = delete;
  // ~Thread joins a started thread without a deadline: make sure the target
  // ends (e.g. signal what it waits for) before destroying it.
  ~Thread();

  // Start creates the thread state and the OS thread and waits, GIL
  // released, until the thread signals that it started. FailedPrecondition
  // "threads can only be started once"; NotFound "unrecognized interpreter
  // ID <n>" for a bad ThreadOptions::interpreter.
  absl::Status Start();

  // Join waits, GIL released, until the target has returned. OK once
  // joined (also when joined before). FailedPrecondition "cannot join thread
  // before it is started"; DeadlineExceeded "thread <name> did not finish
  // within <timeout>" (the thread keeps running; join again later).
  absl::Status Join(absl::Duration timeout = absl::InfiniteDuration());

  // is_alive: started and the target has not returned.
  bool is_alive() const;

  // name returns "Thread-N (target)" once started, "" before.
  std::string name() const;

  // result returns the target's status once joined (OK before).
  const absl::Status& result() const { return result_; }

 private:
  struct Handshake {
    std::mutex mutex;
    std::condition_variable cond;
    bool started = false;   // guarded by mutex
    bool finished = false;  // guarded by mutex
    absl::Status result;    // guarded by mutex
  };

  static void Bootstrap(ThreadState* self, ThreadTarget target,
                        std::shared_ptr<Handshake> handshake);

  ThreadState& starter_;
  ThreadTarget target_;
  const ThreadOptions options_;
  std::shared_ptr<Handshake> handshake_ = std::make_shared<Handshake>();
  std::unique_ptr<ThreadState> state_;
  std::thread os_thread_;
  bool start_called_ = false;
  bool joined_ = false;
  absl::Status result_;
};

}  // namespace subinterp

#endif  // SUBINTERP_RUNTIME_THREAD_H_
