// Issue 19's targets, measured with real Bazel on this checkout: `flaky
// hunt` of //tests/chaos_ops:slow_fixture_test under cgroup:20 (none where
// cgroups cannot be written) SIGKILLed at --kills seeded points, each
// followed by `flaky report`; then two cgroup hunts on one store at once.
// It prints, per kill, the hunt's processes alive at the kill (Bazel's
// client, the wrapper, the test) and still alive 5 s later (the Bazel
// server aside: it outlives commands by design), when the last one went,
// the cgroups left, the runs Bazel finished, those stored, those of them
// the next flaky recovered, and the hunt's status; then the totals and
// the concurrent hunts. A benchmark, not a test: it asserts nothing and
// exits 0 when every step ran. The store and outputs stay in --work_dir.
//
//   bazel run //tests/chaos_ops:measure -- --kills=10 --seed=20261202
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/proc_file.h"
#include "tests/chaos_ops/harness.h"

ABSL_FLAG(int, kills, 10, "how many hunts to SIGKILL, each at its own point");
ABSL_FLAG(uint64_t, seed, 20261202, "seed of the kill points");
ABSL_FLAG(int, runs, 60, "runs per killed hunt (the kill points fall among them)");
ABSL_FLAG(int, round_runs, 30, "runs per Bazel invocation of a killed hunt");
ABSL_FLAG(int, local_test_jobs, 1,
          "Bazel's --local_test_jobs: 1 runs the 300 ms runs one at a time, so a "
          "round outlasts the 5 s an orphan would be seen in");
ABSL_FLAG(std::string, output_user_root, "",
          "the nested Bazel's output root (default: ~/.cache/flaky/chaos_ops_bazel, kept "
          "warm across runs)");
ABSL_FLAG(std::string, work_dir, "", "where the store and outputs go (default: a new /tmp dir)");

namespace chaos = ::flaky::chaos_ops;

namespace {

std::string LoadAverage() {
  const std::string text = flaky::ReadProcFile("/proc/loadavg").value_or("?");
  return text.substr(0, text.find(' ', text.find(' ', text.find(' ') + 1) + 1));
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const char* workspace = std::getenv("BUILD_WORKSPACE_DIRECTORY");
  if (workspace == nullptr) {
    std::cerr << "measure: run me with `bazel run //tests/chaos_ops:measure`\n";
    return 2;
  }
  const char* home = std::getenv("HOME");
  chaos::NestedBazel bazel{
      .checkout = workspace,
      .output_user_root = absl::GetFlag(FLAGS_output_user_root).empty()
                              ? absl::StrCat(home == nullptr ? "/tmp" : home,
                                             "/.cache/flaky/chaos_ops_bazel")
                              : absl::GetFlag(FLAGS_output_user_root)};
  std::string work = absl::GetFlag(FLAGS_work_dir);
  if (work.empty()) work = absl::StrCat("/tmp/flaky-chaos-measure-", getpid());
  if (system(absl::StrCat("mkdir -p '", work, "' '", bazel.output_user_root, "'").c_str()) != 0) {
    std::cerr << "measure: cannot create " << work << "\n";
    return 1;
  }
  // bazel run starts us in our runfiles tree.
  char cwd[4096];
  const std::string flaky = absl::StrCat(getcwd(cwd, sizeof(cwd)), "/flaky/flaky");
  const std::string store = work + "/flaky.db";
  const std::string mount = chaos::WritableCpuMount();
  const std::string profile = mount.empty() ? "--profiles=none" : "--profiles=cgroup:20";
  std::cout << "flaky chaos_ops measure: " << absl::GetFlag(FLAGS_kills) << " kills, seed "
            << absl::GetFlag(FLAGS_seed) << ", " << absl::GetFlag(FLAGS_runs) << " runs in rounds of "
            << absl::GetFlag(FLAGS_round_runs) << ", " << profile.substr(11)
            << (mount.empty() ? " (cgroups not writable here)" : "") << "; load average "
            << LoadAverage() << "; work dir " << work << "\n";

  // The build first, so kill points fall among runs rather than in it.
  chaos::Spawn build{.argv = {"/usr/bin/bazel"},
                     .env = {},
                     .cwd = bazel.checkout,
                     .out_path = work + "/build.out",
                     .err_path = work + "/build.err"};
  for (const std::string& flag : bazel.StartupFlags()) build.argv.push_back(flag);
  build.argv.insert(build.argv.end(), {"build", "--symlink_prefix=/",
                                       "//tests/chaos_ops:slow_fixture_test",
                                       "//flaky/starve:starve"});
  absl::StatusOr<chaos::Ended> built = chaos::RunProcess(build, absl::Hours(1));
  if (!built.ok() || built->exit_code != 0) {
    std::cerr << "measure: the nested build failed: "
              << (built.ok() ? built->err : built.status().ToString()) << "\n";
    return 1;
  }

  std::cout << absl::StrFormat("%-5s %6s %8s %6s %9s %10s %7s %9s %7s %10s  %s\n", "kill",
                               "point", "at_kill", "procs", "alive_5s", "gone_after", "cgroups",
                               "finished", "stored", "recovered", "status after `flaky report`");
  int64_t alive = 0, leaked = 0, running = 0, finished = 0, stored = 0, recovered = 0;
  int64_t failed_steps = 0;
  absl::Duration slowest = absl::ZeroDuration();
  const std::vector<int> points = chaos::KillPoints(
      absl::GetFlag(FLAGS_seed), absl::GetFlag(FLAGS_kills), absl::GetFlag(FLAGS_runs));
  for (size_t i = 0; i < points.size(); ++i) {
    chaos::KillScenario scenario;
    scenario.flaky = flaky;
    scenario.workspace = bazel.checkout;
    scenario.store = store;
    scenario.hunt_id = absl::StrCat("measure-", i, "-", getpid());
    scenario.hunt_args = {"//tests/chaos_ops:slow_fixture_test",
                          absl::StrCat("--runs=", absl::GetFlag(FLAGS_runs)),
                          absl::StrCat("--round_runs=", absl::GetFlag(FLAGS_round_runs)), profile};
    for (const std::string& flag : bazel.HuntFlags()) scenario.hunt_args.push_back(flag);
    scenario.hunt_args.push_back(
        absl::StrCat("--local_test_jobs=", absl::GetFlag(FLAGS_local_test_jobs)));
    scenario.kill_after_runs = points[i];
    scenario.markers = {store + ".hunts/" + scenario.hunt_id + "/",
                        "hunt-" + scenario.hunt_id + "@", "slow_fixture_test"};
    scenario.cgroup_mount = mount;
    absl::StatusOr<chaos::KillResult> result = chaos::KillAndSettle(scenario);
    if (!result.ok()) {
      std::cout << absl::StrFormat("%-5d %6d  step failed: %s\n", i + 1, points[i],
                                   result.status().ToString());
      ++failed_steps;
      continue;
    }
    alive += static_cast<int64_t>(result->orphans.size());
    leaked += static_cast<int64_t>(result->leaked_cgroups.size());
    running += result->hunts_running;
    finished += result->runs_finished;
    stored += result->runs_stored;
    slowest = std::max(slowest, result->orphans_gone_after);
    recovered += result->runs_stored - result->runs_stored_before;
    std::cout << absl::StrFormat(
        "%-5d %6d %8d %6d %9d %10s %7d %9d %7d %10d  %s\n", i + 1, points[i],
        result->runs_at_kill, result->processes_at_kill, result->orphans.size(),
        absl::FormatDuration(absl::Trunc(result->orphans_gone_after, absl::Milliseconds(10))),
        result->leaked_cgroups.size(), result->runs_finished, result->runs_stored,
        result->runs_stored - result->runs_stored_before, result->status);
    for (const chaos::ProcessInfo& orphan : result->orphans) {
      std::cout << "      alive after 5 s: " << orphan << "\n";
    }
  }
  std::cout << "\nkills: " << points.size() << "; processes of a killed hunt alive 5 s after: "
            << alive << " (all gone within " << absl::FormatDuration(slowest)
            << " at the slowest); leaked cgroups: " << leaked
            << "; hunts left running after the next flaky: " << running << "; runs stored "
            << stored << " of " << finished << " Bazel finished (" << recovered
            << " of them recovered from the build events by the next flaky)\n";

  // Two cgroup hunts on one store at once.
  const absl::Time start = absl::Now();
  std::vector<chaos::Spawn> hunts;
  std::vector<pid_t> pids;
  for (const char* name : {"a", "b"}) {
    const std::string id = absl::StrCat("measure-together-", name, "-", getpid());
    chaos::Spawn hunt{.argv = {flaky, "hunt", "--store=" + store, "--hunt_id=" + id,
                               "//tests/chaos_ops:slow_fixture_test", "--runs=20",
                               "--round_runs=5", profile},
                      .env = {},
                      .cwd = bazel.checkout,
                      .out_path = work + "/" + id + ".out",
                      .err_path = work + "/" + id + ".err"};
    for (const std::string& flag : bazel.HuntFlags()) hunt.argv.push_back(flag);
    absl::StatusOr<pid_t> pid = chaos::StartProcess(hunt);
    if (!pid.ok()) return 1;
    hunts.push_back(hunt);
    pids.push_back(*pid);
  }
  for (size_t i = 0; i < hunts.size(); ++i) {
    absl::StatusOr<chaos::Ended> ended = chaos::WaitProcess(pids[i], hunts[i], absl::Hours(1));
    std::cout << "concurrent " << profile.substr(11) << " hunt " << (i == 0 ? "a" : "b") << ": "
              << (!ended.ok() ? ended.status().ToString()
                  : ended->exit_code == 0
                      ? ended->out.substr(0, ended->out.find('\n'))
                      : absl::StrCat("exit ", ended->exit_code, ": ", ended->err))
              << "\n";
  }
  std::cout << "both ended after " << absl::FormatDuration(absl::Trunc(absl::Now() - start,
                                                                       absl::Seconds(1)))
            << "; cgroups left: "
            << (mount.empty() ? std::string("n/a")
                              : absl::StrCat(chaos::HuntCgroups(mount, "measure-").size()))
            << "; load average " << LoadAverage() << "\n";
  (void)bazel.Shutdown();
  return failed_steps == 0 ? 0 : 1;
}
