// Settings of a subinterpreter Runtime and how they are read from the
// environment, so a test binary can run with another switch interval
// without recompiling:
//
//   SUBINTERP_SWITCH_INTERVAL_US=1 bazel-bin/tests/race/already_running_original
//
//   absl::StatusOr<RuntimeOptions> options = OptionsFromEnvironment(
//       [](const char* name) { return std::getenv(name); });
#ifndef SUBINTERP_RUNTIME_OPTIONS_H_
#define SUBINTERP_RUNTIME_OPTIONS_H_

#include <cstdint>
#include <functional>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "runtime/gil.h"

namespace subinterp {

// kSwitchIntervalEnv names the environment variable holding the switch
// interval in whole microseconds.
inline constexpr char kSwitchIntervalEnv[] = "SUBINTERP_SWITCH_INTERVAL_US";

// HookPoint names the places where a Runtime calls its test hook.
enum class HookPoint {
  // A new runtime thread has signalled its start handshake and registered
  // itself; its target has not run yet (CPython: right after
  // Thread._started.set() in _bootstrap_inner).
  kThreadStarted,
  // run_string, destroy or is_running has just looked at whether the
  // interpreter is running (HookEvent::running says what it saw).
  kRunningChecked,
  // run_string has pushed its frame: the interpreter now counts as running.
  kFramePushed,
  // The thread is about to block (sleep, receive, join, start handshake).
  kBlocking,
  // A runtime thread's target has returned and its error, if any, has been
  // reported; the thread is about to detach.
  kThreadFinished,
};

// HookPointName returns "kThreadStarted" etc.
const char* HookPointName(HookPoint point);

// HookEvent describes one hook call.
struct HookEvent {
  HookPoint point;
  // thread_name is "MainThread" or the runtime thread's name ("Thread-1 (run)").
  absl::string_view thread_name;
  bool is_main_thread = false;
  // interpreter is the interpreter concerned (kRunningChecked,
  // kFramePushed), else the thread's current one.
  int64_t interpreter = 0;
  // running is what kRunningChecked saw.
  bool running = false;
  // blocking_call names what kBlocking blocks in: "sleep", "recv",
  // "start" (the start handshake) or "join".
  absl::string_view blocking_call;
};

// RuntimeHook is called at every HookPoint with the GIL released, so it may
// block until another runtime thread has made progress. Tests use it to
// force interleavings without sleeps; production code leaves it empty, and
// then no hook point costs anything or releases the GIL.
using RuntimeHook = std::function<void(const HookEvent&)>;

// OutputSink receives text printed by scripts or reports of uncaught thread
// errors. Called with the GIL held, so calls are serialised.
using OutputSink = std::function<void(absl::string_view)>;

// RuntimeOptions configures a Runtime.
struct RuntimeOptions {
  // switch_interval: as sys.setswitchinterval; must be positive.
  absl::Duration switch_interval = kDefaultSwitchInterval;
  // bootstrap_work: thread CPU time a new thread spends in eval-loop steps
  // between its start handshake and its target (CPython's _bootstrap_inner
  // bookkeeping, the call of the target and the formatting of the script:
  // about 0.1 ms). CPU time, not wall time, so a stalled thread still owes
  // the work when it resumes, as a real one does. Zero: no steps.
  absl::Duration bootstrap_work = absl::Microseconds(100);
  // stdout receives `print` output; empty discards it.
  OutputSink stdout_sink;
  // stderr receives "Exception in thread ..." reports; empty discards them
  // (they are always kept for Runtime::TakeUncaughtThreadErrors).
  OutputSink stderr_sink;
  // hook: see RuntimeHook.
  RuntimeHook hook;
};

// ParseSwitchIntervalUs parses a whole positive number of microseconds
// ("5000"). InvalidArgument, naming `source`, for anything else.
absl::StatusOr<absl::Duration> ParseSwitchIntervalUs(absl::string_view text,
                                                     absl::string_view source);

// EnvLookup returns the value of an environment variable or nullptr.
using EnvLookup = std::function<const char*(const char*)>;

// OptionsFromEnvironment returns default options with the switch interval
// taken from SUBINTERP_SWITCH_INTERVAL_US when set. InvalidArgument when the
// variable is set to anything but a positive integer of at most 1e9.
absl::StatusOr<RuntimeOptions> OptionsFromEnvironment(const EnvLookup& getenv);

}  // namespace subinterp

#endif  // SUBINTERP_RUNTIME_OPTIONS_H_
