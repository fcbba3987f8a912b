#include "tests/race/race_cases.h"

#include <cstdlib>
#include <iostream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/thread.h"

namespace subinterp::race {
namespace {

bool IsAlreadyRunning(const absl::Status& status) {
  return status.code() == absl::StatusCode::kFailedPrecondition &&
         status.message() == "interpreter already running";
}

// Case holds one run of a test: the interpreter, the pipe (a channel) and
// the worker of `_running(interp)`.
class Case {
 public:
  Case(Runtime& runtime, Helper helper, const CaseOptions& options)
      : main_(runtime.main_thread()), helper_(helper), options_(options) {}

  // SetUp creates the interpreter; false (with a failure) if it cannot.
  bool SetUp() {
    absl::StatusOr<InterpreterId> interp = main_.CreateInterpreter();
    if (!interp.ok()) {
      Fail(absl::StrCat("setUp: create() raised ",
                        PythonException(interp.status())));
      return false;
    }
    interp_ = *interp;
    return true;
  }

  InterpreterId interp() const { return interp_; }
  ThreadState& main() { return main_; }

  // Enter is `_running(interp)` up to its `yield`. False (with a failure)
  // when the body must not run: the exception propagates out of the with.
  bool Enter() {
    channel_ = main_.CreateChannel();
    const InterpreterId interp = interp_;
    const std::string script =
        absl::StrCat("# wait for \"signal\"\nrecv ", channel_, "\n");
    worker_ = std::make_unique<Thread>(
        main_, [interp, script](ThreadState& self) {
          return self.RunString(interp, script);
        });
    absl::Status started = worker_->Start();
    if (!started.ok()) {
      Fail(absl::StrCat("_running: t.start() raised ",
                        PythonException(started)));
      worker_.reset();
      return false;
    }
    if (helper_ == Helper::kOriginal) return true;
    return WaitForInterpToRun();
  }

  // Exit is the rest: after a passing body the helper's own cleanup (signal,
  // join) then tearDown; after a failing one, as in CPython, tearDown first
  // (the exception skipped the helper's cleanup), and only then the signal
  // and join this port always does so that nothing leaks or hangs.
  void Exit(bool body_failed) {
    if (body_failed) DestroyIgnoringErrors();
    if (worker_ != nullptr) {
      (void)main_.Send(channel_, "done");
      absl::Status joined = worker_->Join(options_.join_timeout);
      if (!joined.ok()) {
        Fail(absl::StrCat("cleanup: ", PythonException(joined),
                          "; closing its channel"));
        (void)main_.CloseChannel(channel_);
        (void)worker_->Join();
      }
    }
    for (const ThreadError& error :
         main_.runtime().TakeUncaughtThreadErrors()) {
      Fail(error.ToString());
    }
    worker_.reset();
    DestroyIgnoringErrors();
    if (channel_ >= 0) (void)main_.CloseChannel(channel_);
  }

  void Fail(std::string failure) { failures_.push_back(std::move(failure)); }
  bool failed() const { return !failures_.empty(); }
  CaseReport Report() { return CaseReport{std::move(failures_)}; }

 private:
  // _wait_for_interp_to_run (PR 27240), which also gives up early when the
  // worker died: polling for 30 s would add nothing.
  bool WaitForInterpToRun() {
    const absl::Time deadline = absl::Now() + options_.readiness_timeout;
    while (true) {
      absl::StatusOr<bool> running = main_.IsRunning(interp_);
      if (!running.ok()) {
        Fail(absl::StrCat("_wait_for_interp_to_run: is_running() raised ",
                          PythonException(running.status())));
        return false;
      }
      if (*running) return true;
      if (!worker_->is_alive()) {
        Fail("RuntimeError: interp is not running (its thread exited "
             "before pushing a frame)");
        return false;
      }
      if (absl::Now() > deadline) {
        Fail(absl::StrCat("RuntimeError: interp is not running after ",
                          absl::FormatDuration(options_.readiness_timeout)));
        return false;
      }
      main_.Sleep(options_.poll_interval);
    }
  }

  // clean_up_interpreters(): destroy, ignoring "already running".
  void DestroyIgnoringErrors() {
    if (interp_ > 0) (void)main_.DestroyInterpreter(interp_);
  }

  ThreadState& main_;
  const Helper helper_;
  const CaseOptions options_;
  InterpreterId interp_ = -1;
  ChannelId channel_ = -1;
  std::unique_ptr<Thread> worker_;
  std::vector<std::string> failures_;
};

}  // namespace

CaseReport RunAlreadyRunning(Runtime& runtime, Helper helper,
                             const CaseOptions& options) {
  Case c(runtime, helper, options);
  if (!c.SetUp()) return c.Report();
  const bool entered = c.Enter();
  if (entered) {
    // with self.assertRaises(RuntimeError):
    //     interpreters.run_string(interp, 'print("spam")')
    absl::Status status = c.main().RunString(c.interp(), "print \"spam\"");
    if (status.ok()) {
      c.Fail(absl::StrCat("AssertionError: RuntimeError not raised: "
                          "run_string(",
                          c.interp(), ", 'print(\"spam\")') succeeded"));
    } else if (!IsAlreadyRunning(status)) {
      c.Fail(absl::StrCat(
          "AssertionError: expected RuntimeError: interpreter already "
          "running, got ",
          PythonException(status)));
    }
  }
  c.Exit(/*body_failed=*/c.failed());
  return c.Report();
}

CaseReport RunStillRunning(Runtime& runtime, Helper helper,
                           const CaseOptions& options) {
  Case c(runtime, helper, options);
  if (!c.SetUp()) return c.Report();
  if (c.Enter()) {
    [&c] {
      const InterpreterId interp = c.interp();
      absl::StatusOr<bool> running = c.main().IsRunning(interp);
      if (!running.ok() || !*running) {
        c.Fail(absl::StrCat(
            "AssertionError: ",
            running.ok() ? "False is not true"
                         : PythonException(running.status()),
            " : Interp ", interp, " should be running before destruction."));
        return;
      }
      absl::Status destroyed = c.main().DestroyInterpreter(interp);
      if (destroyed.ok()) {
        c.Fail(absl::StrCat("AssertionError: RuntimeError not raised : "
                            "Should not be able to destroy interp ",
                            interp, " while it's still running."));
        return;
      }
      if (!IsAlreadyRunning(destroyed)) {
        c.Fail(absl::StrCat("AssertionError: expected RuntimeError: "
                            "interpreter already running, got ",
                            PythonException(destroyed)));
        return;
      }
      running = c.main().IsRunning(interp);
      if (!running.ok() || !*running) {
        c.Fail(absl::StrCat("AssertionError: Interp ", interp,
                            " stopped running after a failed destroy: ",
                            running.ok() ? "False is not true"
                                         : PythonException(running.status())));
      }
    }();
  }
  c.Exit(/*body_failed=*/c.failed());
  return c.Report();
}

absl::StatusOr<std::unique_ptr<Runtime>> NewRuntimeFromEnvironment(
    RuntimeHook hook) {
  absl::StatusOr<RuntimeOptions> options =
      OptionsFromEnvironment([](const char* name) { return std::getenv(name); });
  if (!options.ok()) return options.status();
  options->hook = std::move(hook);
  options->stdout_sink = [](absl::string_view text) { std::cout << text; };
  options->stderr_sink = [](absl::string_view text) { std::cerr << text; };
  return Runtime::Create(*std::move(options));
}

}  // namespace subinterp::race
