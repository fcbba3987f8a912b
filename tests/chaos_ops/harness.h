// The chaos_ops harness: the real `flaky` binary started, signalled and
// killed at chosen points of a hunt, and what it left behind counted:
// Bazel and test processes still alive, cgroups, hunts left `running`,
// runs Bazel finished against runs stored. The end-to-end tests assert on
// it; measure_main.cc reports it.
//
//   KillScenario scenario;
//   scenario.flaky = Runfile("flaky/flaky");
//   scenario.workspace = ws;
//   scenario.store = ws + "/flaky.db";
//   scenario.hunt_id = "kill-1";
//   scenario.hunt_args = {"//t:a_test", "--runs=12", "--bazel=" + bazel};
//   scenario.kill_after_runs = 5;
//   scenario.markers = {ws + "/flaky.db.hunts/kill-1/"};
//   absl::StatusOr<KillResult> result = KillAndSettle(scenario);
//   // result->orphans (after 5 s), ->hunts_running, ->runs_finished vs ->runs_stored
#ifndef FLAKY_TESTS_CHAOS_OPS_HARNESS_H_
#define FLAKY_TESTS_CHAOS_OPS_HARNESS_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace flaky::chaos_ops {

// Env is the environment variable `name`, "" when it is not set.
std::string Env(const char* name);

// Runfile is the path of the workspace file `path` in a test's runfiles.
std::string Runfile(const std::string& path);

// Spawn describes a process to start: its output goes to files.
struct Spawn {
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;  // added to ours
  std::string cwd;
  std::string out_path;
  std::string err_path;
};

// Ended is how a process ended and what it printed.
struct Ended {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  std::string out;
  std::string err;
  int64_t max_rss_kb = 0;  // its peak resident set (wait4's ru_maxrss)
};

// Printed in test failures: the exit, then both outputs.
std::ostream& operator<<(std::ostream& os, const Ended& ended);

// StartProcess starts `spawn` (its own process group is not made: signals
// are the test's to send). Internal when fork fails.
absl::StatusOr<pid_t> StartProcess(const Spawn& spawn);

// WaitProcess waits up to `timeout` for `pid` to end; DeadlineExceeded
// (the process is then SIGKILLed and reaped) when it does not.
absl::StatusOr<Ended> WaitProcess(pid_t pid, const Spawn& spawn, absl::Duration timeout);

// RunProcess is StartProcess then WaitProcess.
absl::StatusOr<Ended> RunProcess(const Spawn& spawn, absl::Duration timeout);

// WaitUntil polls `done` every 20 ms until it holds; DeadlineExceeded
// naming `what` after `timeout`.
absl::Status WaitUntil(absl::string_view what, absl::Duration timeout,
                       const std::function<bool()>& done);

// ProcessInfo is one live process.
struct ProcessInfo {
  int64_t pid = 0;
  std::string cmdline;  // arguments joined by spaces
};

std::ostream& operator<<(std::ostream& os, const ProcessInfo& process);

// ProcessesMentioning returns the live processes (not zombies, not this
// one, not a Bazel server, whose process title is "bazel(<workspace>)":
// the server outlives its commands by design) one of whose arguments
// contains one of `markers`.
std::vector<ProcessInfo> ProcessesMentioning(const std::vector<std::string>& markers);

// RunId names one run Bazel finished: target, run, shard, attempt and
// the attempt's start in milliseconds.
using RunId = std::tuple<std::string, int, int, int, int64_t>;

// FinishedRuns returns the runs the build events of every round in
// `work_dir` report with a status (a truncated last line tolerated).
std::set<RunId> FinishedRuns(const std::string& work_dir);

// StoredRuns returns the runs of `hunt_id` the store at `store_path` holds
// a trial of. Opened read-only.
absl::StatusOr<std::set<RunId>> StoredRuns(const std::string& store_path,
                                           const std::string& hunt_id);

// HuntStatuses returns every hunt's id and stored status. Read-only.
absl::StatusOr<std::map<std::string, std::string>> HuntStatuses(const std::string& store_path);

// WritableCpuMount returns the writable cpu hierarchy's mount, or "" when
// cgroups cannot be written here.
std::string WritableCpuMount();

// HuntCgroups returns the hunt parent groups (`flaky/hunt-*`) under
// `mount` whose name starts with "hunt-" + `hunt_id_prefix`.
std::vector<std::string> HuntCgroups(const std::string& mount, absl::string_view hunt_id_prefix);

// KillPoints returns `count` kill points, each a number of finished runs
// in [0, total_runs), drawn from `seed`: the same seed, the same points.
std::vector<int> KillPoints(uint64_t seed, int count, int total_runs);

// KillScenario is one hunt killed with SIGKILL at a point and settled by
// the next flaky invocation.
struct KillScenario {
  std::string flaky;      // the binary
  std::string workspace;  // where it runs
  std::string store;
  std::string hunt_id;
  std::vector<std::string> hunt_args;  // after `hunt`: targets and flags
  std::map<std::string, std::string> env;
  // kill_after_runs: SIGKILL once the hunt's build events hold this many
  // finished runs (0: as soon as its first round's Bazel was started).
  int kill_after_runs = 0;
  // markers: text in the arguments of the hunt's Bazel client and test
  // processes (its work directory, its cgroup parent, the test's name).
  std::vector<std::string> markers;
  std::string cgroup_mount;  // "" when the hunt uses no cgroups
  absl::Duration orphan_deadline = absl::Seconds(5);
  absl::Duration timeout = absl::Minutes(5);  // for each step
  // next: the invocation after the kill (its arguments after the binary);
  // empty: `report --store=<store>`.
  std::vector<std::string> next;
};

// KillResult is what a killed hunt left behind.
struct KillResult {
  pid_t flaky_pid = 0;
  int runs_at_kill = 0;  // finished runs in the build events at the kill
  // processes_at_kill: the hunt's processes alive just before the kill
  // (flaky's own children and the tests; none between two rounds).
  int processes_at_kill = 0;
  // orphans: the processes still alive orphan_deadline after the kill.
  std::vector<ProcessInfo> orphans;
  absl::Duration orphans_gone_after = absl::ZeroDuration();
  std::vector<std::string> leaked_cgroups;  // after the next invocation
  int hunts_running = 0;                    // after the next invocation
  std::string status;                       // the killed hunt's, after it
  int64_t runs_finished = 0;  // by Bazel, in the build events, in the end
  int64_t runs_stored = 0;    // of those, stored after the next invocation
  int64_t runs_stored_before = 0;  // of those, stored before it (by the hunt)
  Ended next;                 // the next invocation
};

// KillAndSettle runs the scenario (see KillScenario). Errors: the hunt
// never reached the kill point or ended before it (FailedPrecondition
// with its output), a step timed out (DeadlineExceeded), the store could
// not be read.
absl::StatusOr<KillResult> KillAndSettle(const KillScenario& scenario);

// NestedBazel is real Bazel on flaky's own checkout with an output root
// of its own, as tests/e2e/hunt_e2e_test does it: no server is shared
// with the Bazel that runs the test.
struct NestedBazel {
  std::string checkout;          // the workspace's real directory
  std::string output_user_root;  // reused across runs: a warm cache

  // StartupFlags are the output root and a server that goes idle soon
  // (--max_idle_secs=60) should a shutdown be skipped.
  std::vector<std::string> StartupFlags() const;

  // HuntFlags are what `flaky hunt` needs to drive it: the startup flags,
  // and after `--`, no bazel-* links in the shared checkout. Put them last.
  std::vector<std::string> HuntFlags() const;

  // Shutdown stops its server.
  absl::Status Shutdown() const;
};

// CheckoutOf returns the real directory of the workspace whose file
// `relative` is at runfile path `runfile` (the runfiles tree links to the
// checkout's files); "" when it cannot be resolved.
std::string CheckoutOf(const std::string& runfile, absl::string_view relative);

}  // namespace flaky::chaos_ops

#endif  // FLAKY_TESTS_CHAOS_OPS_HARNESS_H_
