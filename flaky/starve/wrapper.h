// The starve wrapper's core: apply a profile to a command, run it, clean up.
//
//   WrapperOptions options;
//   options.profile = *ParseProfile("taskset:0+hogs:1");
//   options.command = {"/path/to/test", "--gtest_filter=Foo.*"};
//   absl::StatusOr<flaky::ExitStatus> status =
//       RunUnderProfile(options, std::cerr);
//   // *status is how the test ended; for a profile that needs no
//   // supervisor the call does not return: the process has become the test
//
// Two ways to run. A profile that needs no supervisor (NeedsSupervisor:
// none, taskset, env and their compositions) is applied to the wrapper
// itself (affinity, environment), the record is written once and the
// wrapper execs the test in place: no fork, no waiting process, and exit
// status, signals and process identity are the test's by construction.
// The record is final before the test starts, because these profiles have
// nothing to count. Daemons such a test leaves behind are Bazel's to kill
// (README.md says what its sandboxes do).
//
// The other profiles keep the wrapper as the test's parent. Order of
// operations: try the sched modes on a stand-in; become a child subreaper;
// start the test held before exec (flaky::Process, SpawnOptions::hold);
// move it into the run cgroup
// and pin it; fork the sched sidecar (sched_sidecar.h: it reschedules the
// test's threads, watches the test through a pidfd and dies with the
// wrapper); start the hogs; write the record; release it. The test's
// environment gains the profile's env:K=V variables and
// FLAKY_STARVE_PROFILE, the applied profile in its exact replayable form
// (chaos and sched with the run's seed and `fixed`). Then wait, forwarding
// SIGTERM/SIGINT/SIGHUP/SIGQUIT (and stopping the hogs and the sidecar,
// which gives the threads their scheduling back) and reaping the orphans
// the test leaves (the wrapper is their subreaper); once the test has
// ended, stop the hogs and the sidecar, SIGKILL whatever the test left
// running (its whole process tree, `setsid` daemons included), remove the
// cgroup and the shim files, and write the record again with what the
// perturbations did (the chaos shim's counters, which every process of the
// test adds to a shared file, the sidecar's, and the number of processes
// killed) before returning. A sidecar that dies early has its changes
// undone by the wrapper. Only the test joins the cgroup: the hogs stay
// outside it and compete like another tenant would, rather than eating the
// test's own quota. The test is SIGKILLed if the wrapper dies
// (PR_SET_PDEATHSIG) so a killed wrapper leaves an empty cgroup that the
// next run's stale-group collection removes.
//
// Why chaos and sched keep a parent: their counters exist only once the
// test has ended, and the only process that can write them to test.log
// after any ending (a crash, a timeout's SIGKILL) and before Bazel reads it
// is one the test's parent waits for. test-setup.sh SIGKILLs the test's
// process group as soon as the test has been reaped, and Bazel's
// process-wrapper and linux-sandbox SIGKILL everything left when the
// spawn's main process exits, so a sidecar that outlives an exec'd test
// races them; the shim's destructor misses every run that dies of a
// signal.
#ifndef FLAKY_STARVE_WRAPPER_H_
#define FLAKY_STARVE_WRAPPER_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "base/process.h"
#include "flaky/starve/profile.h"

namespace flaky::starve {

// WrapperOptions says what to run under which profile.
struct WrapperOptions {
  Profile profile;
  // Parent group of the per-run cgroup: a path inside the cpu hierarchy,
  // absolute or relative to its mount; empty means `flaky`.
  std::string cgroup_parent;
  // Run without the parts that cannot be applied, recording them as
  // not_applied, instead of failing.
  bool allow_fallback = false;
  // The test command: path (searched in PATH when it has no '/') and args.
  std::vector<std::string> command;
  // Where to write the record JSON; empty means
  // $TEST_UNDECLARED_OUTPUTS_DIR/flaky_starve.json when that is set.
  std::string record_file;
  // run_offset is added to Bazel's run number (TEST_RANDOM_SEED) before the
  // chaos seed is derived from it: a hunt that reruns a target in several
  // `bazel test` rounds passes the runs done so far, so every round explores
  // new seeds instead of replaying the first round's.
  int64_t run_offset = 0;
  // Keep the wrapper as the test's parent even when the profile needs no
  // supervisor, so that the test's process tree is killed at the end of the
  // run (outside Bazel nobody else does it).
  bool supervise = false;
};

// NeedsSupervisor is true when a run under `applied` (the profile as it
// will take effect, after fallbacks) needs the wrapper to stay the test's
// parent: hogs (threads of the wrapper), cgroup (the group is removed after
// the run), chaos and sched (their counters reach the closing record).
bool NeedsSupervisor(const Profile& applied);

// RunUnderProfile runs options.command under options.profile. Supervised
// (NeedsSupervisor or options.supervise), it returns how the test ended
// once it has and everything is cleaned up; otherwise it execs
// the test in place and returns only when that exec failed. Writes the
// record line and warnings to `log`. Errors (nothing was run): the profile
// could not be applied (FailedPrecondition, PermissionDenied, Unavailable,
// InvalidArgument, with a message saying what to do), or the test could
// not be executed (ExecFailed is true): "cannot execute <path>: <why>"
// when that is found before starting it (exec in place, or a missing
// file), "cannot start <argv0>: <why>" (base/process.h) when the
// supervised test's own exec fails.
// Blocks SIGCHLD/SIGTERM/SIGINT/SIGHUP/SIGQUIT in the calling thread and,
// supervised, makes the calling process a child subreaper; call it from
// main() before any other thread exists.
absl::StatusOr<ExitStatus> RunUnderProfile(const WrapperOptions& options,
                                           std::ostream& log);

// ExecFailed is true for the errors RunUnderProfile returns when the test
// command could not be executed; `not_found` tells ENOENT from the rest.
bool ExecFailed(const absl::Status& status, bool* not_found);

}  // namespace flaky::starve

#endif  // FLAKY_STARVE_WRAPPER_H_
