#include "tests/chaos_ops/harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "base/proc_file.h"
#include "base/status_macros.h"
#include "flaky/results/bep.h"
#include "flaky/results/store.h"
#include "flaky/starve/cgroup.h"

namespace flaky::chaos_ops {
namespace {

// ReadFile reads through read(2): /proc files of a process that exits
// meanwhile make streams throw (base/proc_file.h).
std::string ReadFile(const std::string& path) { return ReadProcFile(path).value_or(""); }

std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> names;
  DIR* stream = opendir(dir.c_str());
  if (stream == nullptr) return names;
  while (struct dirent* entry = readdir(stream)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(stream);
  std::sort(names.begin(), names.end());
  return names;
}

// ProcessState is the state letter of /proc/<pid>/stat ('Z' for a zombie),
// or 0 when the process is gone.
char ProcessState(int64_t pid) {
  const std::string stat = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat.size()) return 0;
  return stat[paren + 2];
}

std::string HuntOutput(const KillScenario& scenario, absl::string_view what) {
  const std::string dir = scenario.store.substr(0, scenario.store.rfind('/'));
  return absl::StrCat(dir, "/", scenario.hunt_id, ".", what);
}

}  // namespace

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

std::string Runfile(const std::string& path) {
  return absl::StrCat(Env("TEST_SRCDIR"), "/", Env("TEST_WORKSPACE"), "/", path);
}

std::ostream& operator<<(std::ostream& os, const Ended& ended) {
  return os << "exit " << ended.exit_code << " signal " << ended.signal << "\nstdout:\n"
            << ended.out << "\nstderr:\n" << ended.err;
}

std::ostream& operator<<(std::ostream& os, const ProcessInfo& process) {
  return os << process.pid << " " << process.cmdline;
}

absl::StatusOr<pid_t> StartProcess(const Spawn& spawn) {
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  if (pid == 0) {
    if (!spawn.cwd.empty() && chdir(spawn.cwd.c_str()) != 0) _exit(120);
    // `bazel run` tells its binary where the user was; flaky must find
    // its workspace from its own directory here.
    unsetenv("BUILD_WORKSPACE_DIRECTORY");
    unsetenv("BUILD_WORKING_DIRECTORY");
    for (const auto& [name, value] : spawn.env) setenv(name.c_str(), value.c_str(), 1);
    const int out = open(spawn.out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = open(spawn.err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0 || err < 0) _exit(122);
    dup2(out, 1);
    dup2(err, 2);
    std::vector<char*> argv;
    std::vector<std::string> args = spawn.argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(121);
  }
  return pid;
}

absl::StatusOr<Ended> WaitProcess(pid_t pid, const Spawn& spawn, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  int status = 0;
  struct rusage usage;
  std::memset(&usage, 0, sizeof(usage));
  while (true) {
    const pid_t done = wait4(pid, &status, WNOHANG, &usage);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) {
      return absl::InternalError(absl::StrCat("wait4(", pid, "): ", std::strerror(errno)));
    }
    if (absl::Now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      return absl::DeadlineExceededError(absl::StrCat(
          absl::StrJoin(spawn.argv, " "), " still ran after ", absl::FormatDuration(timeout),
          "; stderr:\n", ReadFile(spawn.err_path)));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  Ended ended;
  if (WIFEXITED(status)) ended.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) ended.signal = WTERMSIG(status);
  ended.out = ReadFile(spawn.out_path);
  ended.err = ReadFile(spawn.err_path);
  ended.max_rss_kb = usage.ru_maxrss;
  return ended;
}

absl::StatusOr<Ended> RunProcess(const Spawn& spawn, absl::Duration timeout) {
  FLAKY_ASSIGN_OR_RETURN(pid_t pid, StartProcess(spawn));
  return WaitProcess(pid, spawn, timeout);
}

absl::Status WaitUntil(absl::string_view what, absl::Duration timeout,
                       const std::function<bool()>& done) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("waited ", absl::FormatDuration(timeout), " for ", what));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::OkStatus();
}

std::vector<ProcessInfo> ProcessesMentioning(const std::vector<std::string>& markers) {
  std::vector<ProcessInfo> found;
  const int64_t self = getpid();
  for (const std::string& name : Entries("/proc")) {
    int64_t pid = 0;
    if (!absl::SimpleAtoi(name, &pid) || pid == self) continue;
    const std::string cmdline = ReadFile(absl::StrCat("/proc/", pid, "/cmdline"));
    if (cmdline.empty() || absl::StartsWith(cmdline, "bazel(")) continue;
    const std::vector<std::string> args = absl::StrSplit(cmdline, '\0', absl::SkipEmpty());
    const bool mentions = std::any_of(args.begin(), args.end(), [&](const std::string& arg) {
      return std::any_of(markers.begin(), markers.end(), [&](const std::string& marker) {
        return absl::StrContains(arg, marker);
      });
    });
    const char state = ProcessState(pid);
    if (mentions && state != 0 && state != 'Z' && state != 'X') {
      found.push_back({pid, absl::StrJoin(args, " ")});
    }
  }
  return found;
}

std::set<RunId> FinishedRuns(const std::string& work_dir) {
  std::set<RunId> runs;
  for (const std::string& name : Entries(work_dir)) {
    if (!absl::StartsWith(name, "round") || !absl::EndsWith(name, ".bep.json")) continue;
    absl::StatusOr<results::BepEvents> events = results::ReadBepFile(work_dir + "/" + name);
    if (!events.ok()) continue;
    for (const results::BepTestResult& run : events->test_results) {
      if (run.status.empty()) continue;  // never ran
      runs.insert({run.label, run.run, run.shard, run.attempt, absl::ToUnixMillis(run.started_at)});
    }
  }
  return runs;
}

absl::StatusOr<std::set<RunId>> StoredRuns(const std::string& store_path,
                                           const std::string& hunt_id) {
  FLAKY_ASSIGN_OR_RETURN(std::unique_ptr<results::Store> store,
                         results::Store::Open(store_path, {.read_only = true}));
  results::Filter filter;
  filter.hunt_ids = {hunt_id};
  FLAKY_ASSIGN_OR_RETURN(std::vector<results::Trial> trials, store->ListTrials(filter));
  std::set<RunId> runs;
  for (const results::Trial& trial : trials) {
    // A trial's shard is 0-based, the BEP's 1-based.
    runs.insert({trial.target, trial.run, trial.shard + 1, trial.attempt,
                 absl::ToUnixMillis(trial.started_at)});
  }
  return runs;
}

absl::StatusOr<std::map<std::string, std::string>> HuntStatuses(const std::string& store_path) {
  FLAKY_ASSIGN_OR_RETURN(std::unique_ptr<results::Store> store,
                         results::Store::Open(store_path, {.read_only = true}));
  FLAKY_ASSIGN_OR_RETURN(std::vector<results::HuntRecord> hunts, store->ListHunts());
  std::map<std::string, std::string> statuses;
  for (const results::HuntRecord& hunt : hunts) statuses[hunt.id] = hunt.status;
  return statuses;
}

std::string WritableCpuMount() {
  absl::StatusOr<starve::CpuHierarchy> hierarchy = starve::DetectCpuHierarchy();
  if (!hierarchy.ok() || hierarchy->read_only) return "";
  // Detection reads the mount table; only creating a group proves it.
  const std::string base = hierarchy->mount + "/flaky";
  const std::string probe = absl::StrCat(base, "/chaos-ops-probe-", getpid());
  if ((mkdir(base.c_str(), 0755) != 0 && errno != EEXIST) || mkdir(probe.c_str(), 0755) != 0) {
    return "";
  }
  rmdir(probe.c_str());
  return hierarchy->mount;
}

std::vector<std::string> HuntCgroups(const std::string& mount, absl::string_view hunt_id_prefix) {
  std::vector<std::string> groups;
  for (const std::string& name : Entries(mount + "/flaky")) {
    if (absl::StartsWith(name, absl::StrCat("hunt-", hunt_id_prefix))) groups.push_back(name);
  }
  return groups;
}

std::vector<int> KillPoints(uint64_t seed, int count, int total_runs) {
  std::mt19937_64 random(seed);
  std::uniform_int_distribution<int> point(0, std::max(0, total_runs - 1));
  std::vector<int> points;
  for (int i = 0; i < count; ++i) points.push_back(point(random));
  return points;
}

absl::StatusOr<KillResult> KillAndSettle(const KillScenario& scenario) {
  KillResult result;
  const std::string work_dir = absl::StrCat(scenario.store, ".hunts/", scenario.hunt_id);
  // The store and id first: hunt_args may end in `-- BAZEL_FLAGS`.
  Spawn hunt{.argv = {scenario.flaky, "hunt", "--store=" + scenario.store,
                      "--hunt_id=" + scenario.hunt_id},
             .env = scenario.env,
             .cwd = scenario.workspace,
             .out_path = HuntOutput(scenario, "out"),
             .err_path = HuntOutput(scenario, "err")};
  hunt.argv.insert(hunt.argv.end(), scenario.hunt_args.begin(), scenario.hunt_args.end());
  FLAKY_ASSIGN_OR_RETURN(result.flaky_pid, StartProcess(hunt));

  bool ended_early = false;
  absl::Status reached = WaitUntil(
      absl::StrCat("hunt ", scenario.hunt_id, " to finish ", scenario.kill_after_runs, " runs"),
      scenario.timeout, [&] {
        if (waitpid(result.flaky_pid, nullptr, WNOHANG) == result.flaky_pid) {
          ended_early = true;
          return true;
        }
        if (scenario.kill_after_runs == 0) {
          return access(absl::StrCat(work_dir, "/round1.json").c_str(), F_OK) == 0;
        }
        return static_cast<int>(FinishedRuns(work_dir).size()) >= scenario.kill_after_runs;
      });
  if (!ended_early) {
    result.processes_at_kill = static_cast<int>(ProcessesMentioning(scenario.markers).size());
    kill(result.flaky_pid, SIGKILL);
    waitpid(result.flaky_pid, nullptr, 0);
  }
  if (ended_early || !reached.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "hunt ", scenario.hunt_id, ended_early ? " ended before its kill point" : " never reached its kill point",
        " (", reached.message(), "); stderr:\n", ReadFile(hunt.err_path)));
  }
  const absl::Time killed = absl::Now();
  result.runs_at_kill = static_cast<int>(FinishedRuns(work_dir).size());

  // Orphans: counted at the deadline; then waited for, and killed if they
  // outlive the step's timeout, so no scenario leaves them to the next.
  absl::Status gone = WaitUntil("the killed hunt's processes to end", scenario.orphan_deadline,
                                [&] { return ProcessesMentioning(scenario.markers).empty(); });
  result.orphans_gone_after = absl::Now() - killed;
  if (!gone.ok()) {
    result.orphans = ProcessesMentioning(scenario.markers);
    if (!WaitUntil("orphans", scenario.timeout,
                   [&] { return ProcessesMentioning(scenario.markers).empty(); })
             .ok()) {
      for (const ProcessInfo& orphan : ProcessesMentioning(scenario.markers)) {
        kill(static_cast<pid_t>(orphan.pid), SIGKILL);
      }
    }
  }

  absl::StatusOr<std::set<RunId>> stored_before = StoredRuns(scenario.store, scenario.hunt_id);
  // A hunt killed before it began has no row yet: nothing stored.
  const std::set<RunId> before = stored_before.ok() ? *stored_before : std::set<RunId>();

  Spawn next{.argv = {scenario.flaky},
             .env = {},
             .cwd = scenario.workspace,
             .out_path = HuntOutput(scenario, "next.out"),
             .err_path = HuntOutput(scenario, "next.err")};
  if (scenario.next.empty()) {
    next.argv.insert(next.argv.end(), {"report", "--store=" + scenario.store});
  } else {
    next.argv.insert(next.argv.end(), scenario.next.begin(), scenario.next.end());
  }
  FLAKY_ASSIGN_OR_RETURN(result.next, RunProcess(next, scenario.timeout));

  if (!scenario.cgroup_mount.empty()) {
    result.leaked_cgroups = HuntCgroups(scenario.cgroup_mount, scenario.hunt_id + "@");
  }
  FLAKY_ASSIGN_OR_RETURN(auto statuses, HuntStatuses(scenario.store));
  for (const auto& [id, status] : statuses) {
    if (status == "running") ++result.hunts_running;
  }
  result.status = statuses[scenario.hunt_id];
  const std::set<RunId> finished = FinishedRuns(work_dir);
  FLAKY_ASSIGN_OR_RETURN(std::set<RunId> stored, StoredRuns(scenario.store, scenario.hunt_id));
  result.runs_finished = static_cast<int64_t>(finished.size());
  result.runs_stored = std::count_if(finished.begin(), finished.end(),
                                     [&](const RunId& run) { return stored.count(run) > 0; });
  result.runs_stored_before = std::count_if(
      finished.begin(), finished.end(), [&](const RunId& run) { return before.count(run) > 0; });
  return result;
}

std::vector<std::string> NestedBazel::StartupFlags() const {
  return {"--output_user_root=" + output_user_root, "--max_idle_secs=60"};
}

std::vector<std::string> NestedBazel::HuntFlags() const {
  return {"--bazel_startup_flags=" + absl::StrJoin(StartupFlags(), " "), "--",
          "--symlink_prefix=/"};
}

absl::Status NestedBazel::Shutdown() const {
  Spawn shutdown{.argv = {"/usr/bin/bazel"},
                 .env = {},
                 .cwd = checkout,
                 .out_path = output_user_root + "/shutdown.out",
                 .err_path = output_user_root + "/shutdown.err"};
  for (const std::string& flag : StartupFlags()) shutdown.argv.push_back(flag);
  shutdown.argv.push_back("shutdown");
  FLAKY_ASSIGN_OR_RETURN(Ended ended, RunProcess(shutdown, absl::Minutes(2)));
  if (ended.exit_code != 0) {
    return absl::InternalError(absl::StrCat("bazel shutdown: ", ended.err));
  }
  return absl::OkStatus();
}

std::string CheckoutOf(const std::string& runfile, absl::string_view relative) {
  char resolved[PATH_MAX];
  if (realpath(runfile.c_str(), resolved) == nullptr) return "";
  const std::string path = resolved;
  if (!absl::EndsWith(path, absl::StrCat("/", relative))) return "";
  return path.substr(0, path.size() - relative.size() - 1);
}

}  // namespace flaky::chaos_ops
