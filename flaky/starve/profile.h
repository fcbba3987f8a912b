// Starvation profiles: the parsed, validated form of strings such as
// `taskset:0+hogs:2+chaos:7` that say how the starve wrapper squeezes a test.
//
//   absl::StatusOr<Profile> profile = ParseProfile("cgroup:20+hogs:1");
//   if (!profile.ok()) return profile.status();  // points at the bad part
//   profile->cgroup->percent;                     // 20
//   profile->ToString();                          // "cgroup:20+hogs:1"
//
// Grammar (parts joined by '+', each part at most once except env):
//   none                         plain run; cannot be combined
//   taskset:CPUS                 CPUS = N or N-M, comma separated: 0 / 0-3,6
//   cgroup:PCT[/PERIOD_US]       PCT of one CPU, 1..100; period 1000..1000000
//                                (default 100000); quota >= 1000 us
//   hogs:N                       N busy competitors, 1..64
//   chaos:SEED[,p=PCT][,ms=MIN-MAX][,cap=PCT][,burst=N][,fixed]
//                                SEED is a decimal uint64; under Bazel's
//                                --runs_per_test run K uses SEED+K-1 (from
//                                TEST_RANDOM_SEED, plus the wrapper's
//                                --run_offset) unless `fixed` is given,
//                                which is how a recorded seed is replayed
//                                exactly; p = stall chance, in percent, of
//                                a wake-up that woke a waiter and of the
//                                waker's next call (default 50; calls that
//                                woke nobody use a tenth of it); burst =
//                                occurrences of a call site that keep the
//                                full chance, the n-th after them gets
//                                p*burst/n (default 4, 0 = no decay; see
//                                chaos_shim.h); ms = stall range in
//                                milliseconds (default 5-20, log-uniform);
//                                cap = share of wall time a process may spend
//                                stalled, in percent (default 10)
//   sched:SEED[,ms=MIN-MAX][,cpu][,idle][,nice][,fifo][,stall][,new][,fixed]
//                                the wrapper's sidecar reschedules all the
//                                test's threads (and its child processes')
//                                at random change points, windows
//                                log-uniform in ms (default 1-50): `cpu`
//                                pins them all to one of the test's CPUs,
//                                `idle` puts one thread in SCHED_IDLE,
//                                `nice` gives one nice 19, `fifo` one
//                                SCHED_FIFO (privileged; its windows last at
//                                most 50 ms), `stall` takes the CPU from
//                                all of them (a quarter of the windows),
//                                `new` from a quarter of the threads it
//                                sees start, for a window of their own.
//                                Without a mode listed:
//                                cpu,idle,nice,stall,new.
//                                SEED and `fixed` as for chaos. Needs no
//                                LD_PRELOAD, so it reaches static binaries,
//                                Go and JVM tests.
//   env:K=V                      K matches [A-Za-z_][A-Za-z0-9_]*; V may not
//                                contain '+'; repeatable with distinct keys
#ifndef FLAKY_STARVE_PROFILE_H_
#define FLAKY_STARVE_PROFILE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace flaky::starve {

// CgroupLimit is a CPU bandwidth limit: `percent` of one CPU per
// `period_us` microseconds.
struct CgroupLimit {
  int percent = 100;
  int64_t period_us = 100000;

  // QuotaUs is the run time allowed per period, in microseconds.
  int64_t QuotaUs() const { return period_us * percent / 100; }

  friend bool operator==(const CgroupLimit& a, const CgroupLimit& b) {
    return a.percent == b.percent && a.period_us == b.period_us;
  }
};

// ChaosSpec configures the preloaded schedule-perturbation shim.
struct ChaosSpec {
  uint64_t seed = 0;
  // Chance, in percent, that a call that woke a waiter (a thread start,
  // condition signal/broadcast, semaphore post or mutex unlock), or the
  // waker's next call, stalls its caller; calls that woke nobody use a tenth
  // of it. The shim lowers it for frequent call sites (see burst).
  int stall_percent = 50;
  // Occurrences of one call site that keep the full chance; the n-th
  // occurrence after them gets stall_percent * burst / n. 0 turns the decay
  // off.
  int burst = 4;
  // Stall durations are log-uniform in [min_ms, max_ms]. At least 5 ms by
  // default: a stall shorter than a scheduler's time slice or a runtime's
  // switch interval (CPython's GIL: 5 ms; Go's preemption: 10 ms; Linux
  // CFS granularity: 3-4 ms) rarely changes who runs next, yet spends the
  // cap. Measured on foreign races (BENCHMARKS.md): CPython's bpo-37224
  // test, 100 iterations per run, failed 0 of 20 runs with 1-20 ms stalls
  // and 16 of 20 with 5-20 ms.
  int min_ms = 5;
  int max_ms = 20;
  // Upper bound, in percent, on the share of the process's wall time spent
  // in stalls (summed over its threads).
  int cap_percent = 10;
  // Use `seed` as is instead of offsetting it by the Bazel run number.
  bool fixed = false;

  // SeedForRun is the seed run `run` (1-based, Bazel's TEST_RANDOM_SEED)
  // uses: seed + run - 1 (wrapping), or seed when fixed or run < 1.
  uint64_t SeedForRun(int64_t run) const {
    if (fixed || run < 1) return seed;
    return seed + static_cast<uint64_t>(run - 1);
  }

  friend bool operator==(const ChaosSpec& a, const ChaosSpec& b) {
    return a.seed == b.seed && a.stall_percent == b.stall_percent &&
           a.burst == b.burst && a.min_ms == b.min_ms &&
           a.max_ms == b.max_ms && a.cap_percent == b.cap_percent &&
           a.fixed == b.fixed;
  }
};

// SchedSpec configures the scheduling sidecar (sched_perturber.h).
struct SchedSpec {
  // The perturbations a window may use, as bits.
  enum Mode : unsigned {
    kCpu = 1,   // all threads on one CPU
    kIdle = 2,  // one thread SCHED_IDLE
    kNice = 4,  // one thread nice 19
    kFifo = 8,  // one thread SCHED_FIFO 1
    // The whole test loses its CPU: every thread SCHED_IDLE on one CPU
    // that the sidecar keeps busy, as when a loaded machine or a VM's
    // host takes the CPU away for tens of milliseconds. Needs idle's
    // permission (SCHED_IDLE and back).
    kStall = 16,
    // A thread seen for the first time is, with chance kHoldChance, held
    // off the CPU for a window of its own (SCHED_IDLE on a CPU the sidecar
    // keeps busy, the test's other threads elsewhere): races where a thread
    // must reach some point before its creator goes on (start-before-ready)
    // sit right after a thread starts. Needs idle's permission.
    kNew = 32,
  };
  static constexpr unsigned kDefaultModes =
      kCpu | kIdle | kNice | kStall | kNew;

  uint64_t seed = 0;
  // Window lengths are log-uniform in [min_ms, max_ms].
  int min_ms = 1;
  int max_ms = 50;
  unsigned modes = kDefaultModes;
  // Use `seed` as is instead of offsetting it by the Bazel run number.
  bool fixed = false;

  // SeedForRun is as ChaosSpec::SeedForRun.
  uint64_t SeedForRun(int64_t run) const {
    if (fixed || run < 1) return seed;
    return seed + static_cast<uint64_t>(run - 1);
  }

  friend bool operator==(const SchedSpec& a, const SchedSpec& b) {
    return a.seed == b.seed && a.min_ms == b.min_ms && a.max_ms == b.max_ms &&
           a.modes == b.modes && a.fixed == b.fixed;
  }
};

// SchedModeNames returns the names of `modes` in the order cpu, idle, nice,
// fifo, stall, new.
std::vector<std::string> SchedModeNames(unsigned modes);

// Profile is one starvation profile; an empty Profile is `none`.
struct Profile {
  // CPUs the test is pinned to, ascending and distinct; empty means "leave
  // the affinity alone".
  std::vector<int> cpus;
  std::optional<CgroupLimit> cgroup;
  // Number of busy competitors on the test's CPUs.
  int hogs = 0;
  std::optional<ChaosSpec> chaos;
  std::optional<SchedSpec> sched;
  // Extra environment variables for the test, sorted by name.
  std::vector<std::pair<std::string, std::string>> env;

  // IsNone is true when the profile changes nothing.
  bool IsNone() const {
    return cpus.empty() && !cgroup && hogs == 0 && !chaos && !sched &&
           env.empty();
  }

  // ToString returns the canonical form: parts in the order taskset, cgroup,
  // hogs, chaos, sched, env (by name), defaults omitted, CPU lists as
  // ranges.
  // ParseProfile(p.ToString()) == p for every parsed profile.
  std::string ToString() const;

  friend bool operator==(const Profile& a, const Profile& b) {
    return a.cpus == b.cpus && a.cgroup == b.cgroup && a.hogs == b.hogs &&
           a.chaos == b.chaos && a.sched == b.sched && a.env == b.env;
  }
};

// ParseProfile parses `text` (grammar in the file comment). Errors are
// InvalidArgument with a message that starts with the offending part, e.g.
// `cgroup:abc: "abc" is not a percentage in 1..100`.
absl::StatusOr<Profile> ParseProfile(absl::string_view text);

// SplitProfileList splits a comma-separated list of profiles, as a user
// writes it in `flaky hunt --profiles=none,taskset:0,1+hogs:2,chaos:7,p=50`.
// Commas also occur inside one profile (CPU lists, chaos options), so a new
// profile starts only at a piece that begins with a kind ("none", or
// "taskset:", "cgroup:", "hogs:", "chaos:", "sched:", "env:"); any other piece
// continues the profile before it. Empty pieces are dropped. The pieces are
// not validated: ParseProfile each one.
std::vector<std::string> SplitProfileList(absl::string_view text);

// FormatCpuList renders ascending CPUs as ranges: {0,1,2,5} -> "0-2,5".
std::string FormatCpuList(const std::vector<int>& cpus);

// ParseCpuList parses "0-2,5" (any order, duplicates allowed) into ascending
// distinct CPUs. Errors are InvalidArgument naming the bad element.
absl::StatusOr<std::vector<int>> ParseCpuList(absl::string_view text);

}  // namespace flaky::starve

#endif  // FLAKY_STARVE_PROFILE_H_
