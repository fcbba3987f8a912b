// Schedule perturbation from outside the test: at seeded, random change
// points the perturber gives every thread of the test (and of its child
// processes) a new scheduling: all on one CPU, one thread in SCHED_IDLE or
// at nice 19 (it runs only when the others leave it room), one in
// SCHED_FIFO (the others on its CPU wait until it blocks), or, in a stall,
// all of them in SCHED_IDLE on one CPU that its driver keeps busy (the test
// loses its CPU, so what fell due meanwhile happens all at once). Apart from
// the windows, a thread it sees start may be held the same way alone while
// the others go on (its creator outruns it). It needs no
// LD_PRELOAD, so it reaches statically linked, Go and JVM tests, whose
// threads never call the functions the chaos shim intercepts. It is driven
// from outside (sched_sidecar.h runs it in its own process) and has no clock
// or threads of its own:
//
//   absl::StatusOr<std::unique_ptr<ThreadControl>> control =
//       ProcessThreadControl(test_pid);
//   SchedPerturber perturber(spec, run_seed, test_cpus, control->get());
//   int64_t next_ns = perturber.Step(now_ns);  // call again at next_ns
//   ...
//   perturber.Restore();  // every thread it changed back to the base
//
// Determinism: the windows (length, CPU, which rank of thread is demoted or
// favoured, with which policy) depend on the seed alone. Which thread holds
// a rank depends on the threads alive at the time, and the test's timing
// against the windows is not reproducible: a replayed seed replays the
// schedule of perturbations, not the test's interleaving.
#ifndef FLAKY_STARVE_SCHED_PERTURBER_H_
#define FLAKY_STARVE_SCHED_PERTURBER_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "flaky/starve/profile.h"

namespace flaky::starve {

// ThreadPolicy is the policy the perturber gives a thread. kBase is the
// test's own (its policy and nice value when the control was created).
enum class ThreadPolicy { kBase, kIdle, kNice, kFifo };

// ThreadSchedule is one thread's scheduling for a window.
struct ThreadSchedule {
  ThreadPolicy policy = ThreadPolicy::kBase;
  std::vector<int> cpus;  // its affinity

  friend bool operator==(const ThreadSchedule& a, const ThreadSchedule& b) {
    return a.policy == b.policy && a.cpus == b.cpus;
  }
  friend bool operator!=(const ThreadSchedule& a, const ThreadSchedule& b) {
    return !(a == b);
  }
};

// ThreadControl lists the test's threads and reschedules them.
class ThreadControl {
 public:
  virtual ~ThreadControl() = default;

  // Threads returns the ids of the test's live threads, ascending.
  virtual std::vector<pid_t> Threads() = 0;

  // Apply gives thread `tid` `schedule`. NotFound when the thread has
  // exited; PermissionDenied or InvalidArgument (with the system's reason)
  // when the kernel refuses.
  virtual absl::Status Apply(pid_t tid, const ThreadSchedule& schedule) = 0;
};

// ProcessThreadControl controls the threads of process `pid` and of its
// descendants (found through /proc/PID/task/TID/children, at most 256
// processes). The base policy is `pid`'s main thread's policy, priority and
// nice value now. Unavailable when they cannot be read.
absl::StatusOr<std::unique_ptr<ThreadControl>> ProcessThreadControl(pid_t pid);

// SchedWindow is the stretch between two change points.
struct SchedWindow {
  int64_t duration_ns = 0;
  std::optional<int> cpu;  // every thread pinned to it
  ThreadPolicy victim_policy = ThreadPolicy::kBase;  // kBase: no victim
  double victim_rank = 0;  // [0, 1): the victim's rank among live threads
  bool fifo = false;       // a favoured thread runs SCHED_FIFO
  double fifo_rank = 0;    // [0, 1): the favoured thread's rank
  // Every thread SCHED_IDLE on `cpu`, which the perturber's driver keeps
  // busy; no victim or favoured thread then.
  bool stall = false;
};

// kStallChance is the share of windows that are stalls when kStall is on:
// enough that a run meets several, few enough that the test still runs at
// least about three quarters of the time.
inline constexpr double kStallChance = 0.25;

// kMaxFifoWindowNs bounds a window with a SCHED_FIFO thread: it may starve
// everything else on its CPU until it blocks.
inline constexpr int64_t kMaxFifoWindowNs = 50'000'000;

// SchedHold is how a thread seen starting is held off the CPU: for how
// long, and on which CPU (kept busy by the perturber's driver).
struct SchedHold {
  int64_t duration_ns = 0;
  int cpu = 0;
};

// kHoldChance is the share of new threads held when kNew is on: a test
// that starts threads in a loop meets holds within a few iterations, and
// most of its threads still start freely.
inline constexpr double kHoldChance = 0.25;

// SchedPlanner draws the windows of one run from its seed. Not thread-safe.
class SchedPlanner {
 public:
  // `cpus` are the test's CPUs (non-empty), where a window may pin it.
  SchedPlanner(const SchedSpec& spec, uint64_t run_seed,
               std::vector<int> cpus);

  // Next returns the next window: length log-uniform in [min_ms, max_ms]
  // (at most kMaxFifoWindowNs with a FIFO thread, or in a stall when the
  // driver itself runs SCHED_FIFO); with `stall`, a stall on a CPU drawn
  // from `cpus` with chance kStallChance; otherwise, with `cpu`, pinned
  // half of the time to a CPU drawn from `cpus` (always when a FIFO thread
  // needs company); a victim policy drawn uniformly from none and the
  // enabled idle/nice; with `fifo`, a favoured thread half of the time.
  // Always the same number of draws, so window k depends only on the seed.
  SchedWindow Next();

  // NewThreadBecomesVictim says whether a thread that appeared during a
  // window takes over the victim's place (half of the time), from a stream
  // of its own so that the windows do not depend on how many appear.
  bool NewThreadBecomesVictim();

  // NewThreadHold says whether a thread seen for the first time is held
  // (with `new`, chance kHoldChance): for a length drawn as a window's (at
  // most kMaxFifoWindowNs under a SCHED_FIFO driver), on a CPU drawn from
  // `cpus`. From a stream of its own, the same number of draws per call.
  std::optional<SchedHold> NewThreadHold();

 private:
  double Uniform(uint64_t& state);
  int64_t Length(double uniform) const;

  SchedSpec spec_;
  std::vector<int> cpus_;
  uint64_t window_state_;
  uint64_t thread_state_;
  uint64_t hold_state_;
};

// SchedCounters is what a perturber did.
struct SchedCounters {
  uint64_t windows = 0;  // change points
  uint64_t threads = 0;  // distinct threads seen
  uint64_t changes = 0;  // schedules applied
  uint64_t refused = 0;  // schedules the kernel refused (exited threads aside)
  uint64_t stalls = 0;   // windows that were stalls
  uint64_t held = 0;     // threads held as they started
};

// SchedPerturber applies the planner's windows to the test's threads. Not
// thread-safe; `control` must outlive it.
class SchedPerturber {
 public:
  // kScanIntervalNs is how often it looks for new threads within a window.
  static constexpr int64_t kScanIntervalNs = 1'000'000;

  SchedPerturber(const SchedSpec& spec, uint64_t run_seed,
                 std::vector<int> cpus, ThreadControl* control);

  // Step starts the next window when the current one is over (or on the
  // first call), finds new and exited threads (holding one that started,
  // with `new`, unless one is held), and gives every thread its schedule,
  // calling control->Apply only where it changes (and once for every new
  // thread, whose inherited scheduling is unknown). Returns when to call it
  // again: the window's end, the hold's or the next scan, whichever is
  // first. `now_ns` must not decrease.
  int64_t Step(int64_t now_ns);

  // Restore gives the base schedule back to every thread it changed and to
  // every thread it has not seen yet (which may have inherited a window's
  // scheduling from its creator).
  void Restore();

  // BusyCpu is the CPU to keep busy until Step's answer: the stall's, in a
  // stall, else the held thread's while one is held.
  std::optional<int> BusyCpu() const {
    if (started_ && window_.stall) return window_.cpu;
    if (held_ != 0) return hold_.cpu;
    return std::nullopt;
  }

  const SchedCounters& counters() const { return counters_; }

 private:
  ThreadSchedule Desired(pid_t tid) const;

  SchedPlanner planner_;
  std::vector<int> cpus_;
  ThreadControl* control_;
  bool started_ = false;
  SchedWindow window_;
  int64_t window_end_ns_ = 0;
  pid_t victim_ = 0;
  pid_t favoured_ = 0;
  pid_t held_ = 0;  // the thread held as it started, if any
  SchedHold hold_;
  int64_t hold_end_ns_ = 0;
  std::map<pid_t, ThreadSchedule> applied_;
  std::set<pid_t> seen_;
  SchedCounters counters_;
};

// SchedPermission is which of a profile's modes the kernel lets the wrapper
// apply and undo on the test.
struct SchedPermission {
  unsigned permitted = 0;  // SchedSpec::Mode bits
  // Mode name and why it is refused, with what would allow it.
  std::vector<std::pair<std::string, std::string>> refused;
};

// CheckSchedPermitted tries each mode of `spec` on a forked stand-in with
// the caller's credentials and limits (which the test inherits), and
// undoes it: pinning to cpus[0] (non-empty), SCHED_IDLE, nice 19,
// SCHED_FIFO, and for a stall or a hold SCHED_IDLE on cpus[0]. Undoing is
// tried too because an unprivileged process may lower another's priority
// but not raise it back. The stand-in only blocks on a pipe and exits, so
// this may be called from any thread.
SchedPermission CheckSchedPermitted(const SchedSpec& spec,
                                    const std::vector<int>& cpus);

}  // namespace flaky::starve

#endif  // FLAKY_STARVE_SCHED_PERTURBER_H_
