// The process that runs a SchedPerturber beside a test: forked by the
// wrapper, it watches the test through a pidfd and dies with its parent
// (PR_SET_PDEATHSIG), so it needs nothing from the wrapper but the fork.
// The wrapper stays the test's parent under sched rather than exec the test
// in its own place: the sidecar's parent would then be the test's thread
// that was the wrapper, whose exit (or pthread_exit while other threads
// run on) SIGKILLs the sidecar in the same kernel step that would wake it
// through the pidfd, so it could neither report its counters nor give the
// test's surviving children their scheduling back.
//
//   FLAKY_ASSIGN_OR_RETURN(std::unique_ptr<SchedSidecar> sidecar,
//                          SchedSidecar::Start(test_pid, spec, seed, cpus));
//   ... the test runs; on each SIGCHLD: sidecar->CheckAlive() ...
//   absl::StatusOr<SchedCounters> done = sidecar->Stop();
//
// The sidecar ends when the test has exited, when asked (Stop, SIGTERM) or
// when its parent dies; on the first two it gives the threads it changed
// their base scheduling back first. With SCHED_FIFO in the profile it runs
// at SCHED_FIFO priority 2 itself, above the favoured thread, so a window
// always ends on time. In a stall, or while a new thread is held, it spins
// on the CPU where the stalled or held threads wait in SCHED_IDLE.
#ifndef FLAKY_STARVE_SCHED_SIDECAR_H_
#define FLAKY_STARVE_SCHED_SIDECAR_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/fd.h"
#include "base/process.h"
#include "flaky/starve/profile.h"
#include "flaky/starve/sched_perturber.h"

namespace flaky::starve {

// SchedSidecar is a running sidecar process, owned by the process that
// started it. Not thread-safe.
class SchedSidecar {
 public:
  // Start forks the sidecar for process `test` (it may still be held
  // before exec) with flaky::Process::Fork. The child runs C++ after fork,
  // so call it while the calling process has a single thread. Unavailable
  // when the test's scheduling cannot be read or fork/pipe fail.
  static absl::StatusOr<std::unique_ptr<SchedSidecar>> Start(
      pid_t test, const SchedSpec& spec, uint64_t run_seed,
      std::vector<int> cpus);

  SchedSidecar(const SchedSidecar&) = delete;
  SchedSidecar& operator=(const SchedSidecar&) = delete;
  // Stops it if Stop has not been called.
  ~SchedSidecar();

  pid_t pid() const { return process_.pid(); }

  // CheckAlive reaps the sidecar if it has exited before Stop and, if so,
  // gives the test's threads their base scheduling back itself, so that a
  // sidecar that crashed cannot leave a thread in SCHED_FIFO. Returns
  // whether it is still running.
  bool CheckAlive();

  // Stop asks the sidecar to restore the threads and exit (SIGTERM), waits
  // for it (SIGKILL after 10 s) and returns its counters. Internal when it
  // ended without reporting them (it crashed, or was killed). Call once.
  absl::StatusOr<SchedCounters> Stop();

 private:
  SchedSidecar(::flaky::Process process, Fd report,
               std::unique_ptr<ThreadControl> control, std::vector<int> cpus)
      : process_(std::move(process)), report_(std::move(report)),
        control_(std::move(control)), cpus_(std::move(cpus)) {}

  void RestoreFromHere();
  absl::StatusOr<SchedCounters> ReadReport();

  ::flaky::Process process_;
  Fd report_;
  std::unique_ptr<ThreadControl> control_;
  std::vector<int> cpus_;
  bool stopped_ = false;
};

}  // namespace flaky::starve

#endif  // FLAKY_STARVE_SCHED_SIDECAR_H_
