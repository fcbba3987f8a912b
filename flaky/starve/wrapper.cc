#include "flaky/starve/wrapper.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "base/process.h"
#include "base/status_macros.h"
#include "flaky/starve/cgroup.h"
#include "flaky/starve/chaos_shim.h"
#include "flaky/starve/embedded_shim.h"
#include "flaky/starve/exit_codes.h"
#include "flaky/starve/hogs.h"
#include "flaky/starve/profile.h"
#include "flaky/starve/record.h"
#include "flaky/starve/sched_perturber.h"
#include "flaky/starve/sched_sidecar.h"

extern char** environ;

namespace flaky::starve {
namespace {

constexpr absl::string_view kExecPayload = "flaky.starve/exec";
constexpr absl::string_view kShimFileName = "libflaky_chaos.so";
constexpr absl::string_view kCountersFileName = "counters";

absl::Status ExecError(int err, absl::string_view path) {
  absl::Status status =
      err == ENOENT
          ? absl::NotFoundError(
                absl::StrCat("cannot execute ", path, ": ", std::strerror(err)))
          : absl::PermissionDeniedError(absl::StrCat(
                "cannot execute ", path, ": ", std::strerror(err)));
  status.SetPayload(kExecPayload, absl::Cord(err == ENOENT ? "enoent" : "exec"));
  return status;
}

absl::StatusOr<std::vector<int>> AllowedCpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) {
    return absl::UnavailableError(
        absl::StrCat("sched_getaffinity: ", std::strerror(errno)));
  }
  std::vector<int> cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  }
  return cpus;
}

// ResolveCommand finds the executable like execvp would, but before fork:
// the child of a multi-threaded process may only make async-signal-safe
// calls.
absl::StatusOr<std::string> ResolveCommand(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    if (access(name.c_str(), X_OK) != 0) return ExecError(errno, name);
    return name;
  }
  const char* path = getenv("PATH");
  for (absl::string_view dir :
       absl::StrSplit(path != nullptr ? path : "/usr/bin:/bin", ':')) {
    std::string candidate = absl::StrCat(dir.empty() ? "." : dir, "/", name);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return ExecError(ENOENT, name);
}

// IsStaticElf is true for an ELF executable without an interpreter, which
// LD_PRELOAD cannot reach. Scripts and unreadable files are not.
bool IsStaticElf(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  Elf64_Ehdr header;
  if (!in.read(reinterpret_cast<char*>(&header), sizeof(header))) return false;
  if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 ||
      header.e_ident[EI_CLASS] != ELFCLASS64) {
    return false;
  }
  for (int i = 0; i < header.e_phnum; ++i) {
    Elf64_Phdr program;
    in.seekg(header.e_phoff + static_cast<uint64_t>(i) * header.e_phentsize);
    if (!in.read(reinterpret_cast<char*>(&program), sizeof(program))) {
      return false;
    }
    if (program.p_type == PT_INTERP) return false;
  }
  return true;
}

// ShimFile is the chaos shim written to a private directory, with the file
// the shim adds its counters to, both removed when the run is over.
class ShimFile {
 public:
  static absl::StatusOr<std::unique_ptr<ShimFile>> Write() {
    std::string base;
    for (const char* var : {"TEST_TMPDIR", "TMPDIR"}) {
      const char* value = getenv(var);
      if (value != nullptr && *value != '\0') {
        base = value;
        break;
      }
    }
    if (base.empty()) base = "/tmp";
    std::string dir_template = absl::StrCat(base, "/flaky-chaos-XXXXXX");
    if (mkdtemp(dir_template.data()) == nullptr) {
      return absl::UnavailableError(
          absl::StrCat("cannot create a directory for the chaos shim in ",
                       base, ": ", std::strerror(errno),
                       "; set TMPDIR to a writable directory"));
    }
    std::unique_ptr<ShimFile> shim(new ShimFile(
        dir_template, absl::StrCat(dir_template, "/", kShimFileName),
        absl::StrCat(dir_template, "/", kCountersFileName)));
    if (shim->path_.find_first_of(" :") != std::string::npos) {
      return absl::FailedPreconditionError(
          absl::StrCat("chaos shim path ", shim->path_,
                       " contains a space or colon, which LD_PRELOAD cannot "
                       "hold; set TMPDIR to a plain path"));
    }
    const absl::string_view bytes = EmbeddedChaosShim();
    std::ofstream out(shim->path_, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out || chmod(shim->path_.c_str(), 0555) != 0) {
      return absl::UnavailableError(absl::StrCat(
          "cannot write the chaos shim to ", shim->path_, ": ",
          std::strerror(errno), "; set TMPDIR to a writable directory"));
    }
    FlakyChaosCounters counters;
    std::memset(&counters, 0, sizeof(counters));
    counters.magic = FLAKY_CHAOS_COUNTERS_MAGIC;
    std::ofstream counters_out(shim->counters_path_, std::ios::binary);
    counters_out.write(reinterpret_cast<const char*>(&counters),
                       sizeof(counters));
    counters_out.close();
    if (!counters_out) {
      return absl::UnavailableError(absl::StrCat(
          "cannot write the chaos counters to ", shim->counters_path_, ": ",
          std::strerror(errno), "; set TMPDIR to a writable directory"));
    }
    return shim;
  }

  ShimFile(const ShimFile&) = delete;
  ShimFile& operator=(const ShimFile&) = delete;
  ~ShimFile() {
    unlink(path_.c_str());
    unlink(counters_path_.c_str());
    rmdir(dir_.c_str());
  }

  const std::string& path() const { return path_; }
  const std::string& counters_path() const { return counters_path_; }

  // ReadCounters returns what the test's processes added to the counters
  // file. Read after the test has ended, when no process writes any more
  // (a daemon that outlived the test would only make them a lower bound).
  ChaosCounters ReadCounters() const {
    FlakyChaosCounters raw;
    std::memset(&raw, 0, sizeof(raw));
    std::ifstream in(counters_path_, std::ios::binary);
    in.read(reinterpret_cast<char*>(&raw), sizeof(raw));
    ChaosCounters counters;
    if (!in || raw.magic != FLAKY_CHAOS_COUNTERS_MAGIC) return counters;
    counters.processes = raw.processes;
    counters.wakeups = raw.wakeups;
    counters.stalls = raw.stalls;
    counters.capped = raw.capped;
    counters.stalled_ns = raw.stalled_ns;
    counters.sites = raw.sites;
    counters.sites_stalled = raw.sites_stalled;
    return counters;
  }

 private:
  ShimFile(std::string dir, std::string path, std::string counters_path)
      : dir_(std::move(dir)),
        path_(std::move(path)),
        counters_path_(std::move(counters_path)) {}

  std::string dir_;
  std::string path_;
  std::string counters_path_;
};

// Environment is the test's environment: ours plus the profile's.
class Environment {
 public:
  Environment() {
    for (char** e = environ; *e != nullptr; ++e) entries_.emplace_back(*e);
  }

  void Set(absl::string_view name, absl::string_view value) {
    const std::string prefix = absl::StrCat(name, "=");
    for (std::string& entry : entries_) {
      if (absl::StartsWith(entry, prefix)) {
        entry = absl::StrCat(prefix, value);
        return;
      }
    }
    entries_.push_back(absl::StrCat(prefix, value));
  }

  std::optional<std::string> Get(absl::string_view name) const {
    const std::string prefix = absl::StrCat(name, "=");
    for (const std::string& entry : entries_) {
      if (absl::StartsWith(entry, prefix)) return entry.substr(prefix.size());
    }
    return std::nullopt;
  }

  const std::vector<std::string>& Entries() const { return entries_; }

  // Pointers stay valid until the next Set.
  std::vector<char*> Pointers() {
    std::vector<char*> pointers;
    for (std::string& entry : entries_) pointers.push_back(entry.data());
    pointers.push_back(nullptr);
    return pointers;
  }

 private:
  std::vector<std::string> entries_;
};

// SignalMask blocks the wrapper's signals for its lifetime; the test gets
// the original mask back before exec.
class SignalMask {
 public:
  SignalMask() {
    sigemptyset(&blocked_);
    for (int sig : {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT}) {
      sigaddset(&blocked_, sig);
    }
    sigprocmask(SIG_BLOCK, &blocked_, &original_);
  }
  SignalMask(const SignalMask&) = delete;
  SignalMask& operator=(const SignalMask&) = delete;
  ~SignalMask() { sigprocmask(SIG_SETMASK, &original_, nullptr); }

  const sigset_t& blocked() const { return blocked_; }
  const sigset_t& original() const { return original_; }

 private:
  sigset_t blocked_;
  sigset_t original_;
};

std::string ChaosConfig(const ChaosSpec& chaos) {
  return absl::StrCat("seed=", chaos.seed, ",p=", chaos.stall_percent,
                      ",min_ms=", chaos.min_ms, ",max_ms=", chaos.max_ms,
                      ",cap=", chaos.cap_percent, ",burst=", chaos.burst);
}

// The canonical text of single parts, for messages and not_applied.
std::string TasksetPart(const Profile& profile) {
  Profile part;
  part.cpus = profile.cpus;
  return part.ToString();
}

std::string CgroupPart(const Profile& profile) {
  Profile part;
  part.cgroup = profile.cgroup;
  return part.ToString();
}

std::string ChaosPart(const Profile& profile) {
  Profile part;
  part.chaos = profile.chaos;
  return part.ToString();
}

std::string SchedPart(const Profile& profile) {
  Profile part;
  part.sched = profile.sched;
  return part.ToString();
}

// HostName is where this run runs; "" when the kernel will not say.
std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "";
  return name;
}

// WriteRecordLine writes the tagged record line in one piece, so that
// output of processes sharing the log cannot split it.
void WriteRecordLine(std::ostream& log, const AppliedRecord& record) {
  log << absl::StrCat(kRecordTag, record.ToJson(), "\n") << std::flush;
}

// ChildrenOfSelf lists this process's children from
// /proc/self/task/*/children or, where the kernel has no such file, from
// the parent field of every /proc/PID/stat.
std::vector<pid_t> ChildrenOfSelf() {
  std::vector<pid_t> children;
  bool listed = false;
  if (DIR* tasks = opendir("/proc/self/task")) {
    while (struct dirent* entry = readdir(tasks)) {
      if (entry->d_name[0] == '.') continue;
      std::ifstream in(
          absl::StrCat("/proc/self/task/", entry->d_name, "/children"));
      if (!in) continue;
      listed = true;
      pid_t pid = 0;
      while (in >> pid) children.push_back(pid);
    }
    closedir(tasks);
  }
  if (listed) return children;
  const pid_t self = getpid();
  if (DIR* proc = opendir("/proc")) {
    while (struct dirent* entry = readdir(proc)) {
      pid_t pid = 0;
      if (!absl::SimpleAtoi(entry->d_name, &pid)) continue;
      std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
      std::string stat((std::istreambuf_iterator<char>(in)),
                       std::istreambuf_iterator<char>());
      const size_t paren = stat.rfind(')');
      if (paren == std::string::npos) continue;
      // After the command: state, then the parent's pid.
      std::vector<absl::string_view> fields = absl::StrSplit(
          absl::string_view(stat).substr(paren + 1), ' ', absl::SkipEmpty());
      pid_t parent = 0;
      if (fields.size() > 1 && absl::SimpleAtoi(fields[1], &parent) &&
          parent == self) {
        children.push_back(pid);
      }
    }
    closedir(proc);
  }
  return children;
}

// ExitedChild returns a child that has exited without reaping it, 0 when
// none has, -1 when there are no children at all.
pid_t ExitedChild() {
  while (true) {
    siginfo_t info;
    std::memset(&info, 0, sizeof(info));
    if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == 0) {
      return info.si_pid;
    }
    if (errno != EINTR) return -1;  // ECHILD
  }
}

// KillLeftovers SIGKILLs and reaps every child the wrapper still has once
// the test and the sidecar are reaped: what the test left running, which
// came to the wrapper as the orphans' subreaper, and in turn their children
// as their parents die. Returns how many processes it killed. Stops early,
// rather than wait for processes it cannot name, when /proc lists none of
// the children the kernel still counts.
int64_t KillLeftovers() {
  std::set<pid_t> killed;
  while (true) {
    const pid_t exited = ExitedChild();
    if (exited < 0) break;
    if (exited > 0) {
      // Orphans adopted as their subreaper, never started by us: no
      // flaky::Process owns them, so they are reaped here by pid.
      int status = 0;
      while (waitpid(exited, &status, 0) < 0 && errno == EINTR) {
      }
      continue;
    }
    const std::vector<pid_t> children = ChildrenOfSelf();
    if (children.empty()) break;
    for (pid_t pid : children) {
      if (kill(pid, SIGKILL) == 0) killed.insert(pid);
    }
    // Block until one of them is gone; the loop reaps it.
    siginfo_t info;
    while (waitid(P_ALL, 0, &info, WEXITED | WNOWAIT) != 0 && errno == EINTR) {
    }
  }
  return static_cast<int64_t>(killed.size());
}

absl::Status WriteRecordFile(const std::string& path, const std::string& json) {
  std::ofstream out(path, std::ios::trunc);
  out << json << "\n";
  out.close();
  if (!out) {
    return absl::UnavailableError(
        absl::StrCat("cannot write the record to ", path, ": ",
                     std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace

bool NeedsSupervisor(const Profile& applied) {
  return applied.hogs > 0 || applied.cgroup.has_value() ||
         applied.chaos.has_value() || applied.sched.has_value();
}

bool ExecFailed(const absl::Status& status, bool* not_found) {
  auto payload = status.GetPayload(kExecPayload);
  if (!payload) return false;
  *not_found = *payload == "enoent";
  return true;
}

absl::StatusOr<ExitStatus> RunUnderProfile(const WrapperOptions& options,
                                           std::ostream& log) {
  if (options.command.empty()) {
    return absl::InvalidArgumentError(
        "no test command: put it after `--`, e.g. starve --profile=none -- "
        "/bin/true");
  }
  const Profile& profile = options.profile;
  AppliedRecord record;
  record.wrapper_pid = getpid();
  record.host = HostName();
  Profile applied = profile;  // what really takes effect
  // Fallback skips a part that cannot be applied when the user allowed it.
  auto fallback = [&](absl::string_view part,
                      const absl::Status& status) -> absl::Status {
    if (!options.allow_fallback) return status;
    record.not_applied.push_back({std::string(part),
                                  std::string(status.message())});
    log << kWarningPrefix << "not applying " << part << ": "
        << status.message() << "\n";
    return absl::OkStatus();
  };

  SignalMask signals;
  FLAKY_ASSIGN_OR_RETURN(std::string path, ResolveCommand(options.command[0]));

  FLAKY_ASSIGN_OR_RETURN(std::vector<int> allowed, AllowedCpus());
  std::vector<int> test_cpus = allowed;
  if (!profile.cpus.empty()) {
    std::vector<int> outside;
    for (int cpu : profile.cpus) {
      if (std::find(allowed.begin(), allowed.end(), cpu) == allowed.end()) {
        outside.push_back(cpu);
      }
    }
    if (outside.empty()) {
      test_cpus = profile.cpus;
    } else {
      applied.cpus.clear();
      FLAKY_RETURN_IF_ERROR(fallback(
          TasksetPart(profile),
          absl::FailedPreconditionError(absl::StrCat(
              "CPU ", FormatCpuList(outside),
              " is not in this process's allowed set ", FormatCpuList(allowed),
              "; choose CPUs from ", FormatCpuList(allowed)))));
    }
  }

  Environment env;
  for (const auto& [name, value] : profile.env) {
    env.Set(name, value);
    record.env.push_back(absl::StrCat(name, "=", value));
  }

  // Under --runs_per_test each run explores its own schedule; the record
  // keeps the seed that was used, so the run can be replayed exactly.
  int64_t run = 0;
  const char* random_seed = getenv("TEST_RANDOM_SEED");
  if (random_seed == nullptr || !absl::SimpleAtoi(random_seed, &run)) run = 0;
  if (run >= 1) run += options.run_offset;
  const uint64_t run_seed = profile.chaos ? profile.chaos->SeedForRun(run) : 0;
  const uint64_t sched_seed =
      profile.sched ? profile.sched->SeedForRun(run) : 0;
  if (profile.sched) {
    // Tried on a stand-in before the test exists: a mode that could be
    // entered but not left would otherwise stay on the test.
    const SchedPermission permission =
        CheckSchedPermitted(*profile.sched, test_cpus);
    if (!permission.refused.empty()) {
      std::vector<std::string> reasons;
      for (const auto& [mode, reason] : permission.refused) {
        reasons.push_back(absl::StrCat(mode, ": ", reason));
      }
      applied.sched->modes = permission.permitted;
      if (permission.permitted == 0) applied.sched.reset();
      FLAKY_RETURN_IF_ERROR(fallback(
          SchedPart(profile),
          absl::FailedPreconditionError(absl::StrCat(
              "cannot apply and undo every sched mode on this machine: ",
              absl::StrJoin(reasons, "; ")))));
    }
  }
  std::unique_ptr<ShimFile> shim;
  if (profile.chaos) {
    const std::string part = ChaosPart(profile);
    if (IsStaticElf(path)) {
      applied.chaos.reset();
      FLAKY_RETURN_IF_ERROR(fallback(
          part, absl::FailedPreconditionError(absl::StrCat(
                    path,
                    " is statically linked, so the chaos shim cannot be "
                    "preloaded into it; link the test dynamically or drop "
                    "chaos: from the profile"))));
    } else {
      absl::StatusOr<std::unique_ptr<ShimFile>> written = ShimFile::Write();
      if (written.ok()) {
        shim = *std::move(written);
        std::optional<std::string> preload = env.Get("LD_PRELOAD");
        env.Set("LD_PRELOAD",
                preload && !preload->empty()
                    ? absl::StrCat(shim->path(), ":", *preload)
                    : shim->path());
        ChaosSpec exact = *profile.chaos;
        exact.seed = run_seed;
        env.Set("FLAKY_CHAOS", ChaosConfig(exact));
        env.Set("FLAKY_CHAOS_COUNTERS", shim->counters_path());
      } else {
        applied.chaos.reset();
        FLAKY_RETURN_IF_ERROR(fallback(part, written.status()));
      }
    }
  }

  std::unique_ptr<RunCgroup> cgroup;
  if (profile.cgroup) {
    absl::StatusOr<CpuHierarchy> hierarchy = DetectCpuHierarchy();
    absl::StatusOr<std::unique_ptr<RunCgroup>> created =
        hierarchy.ok() ? RunCgroup::Create(*hierarchy, options.cgroup_parent,
                                           *profile.cgroup)
                       : hierarchy.status();
    if (created.ok()) {
      cgroup = *std::move(created);
    } else {
      applied.cgroup.reset();
      FLAKY_RETURN_IF_ERROR(fallback(
          CgroupPart(profile), created.status()));
    }
  }
  // The announced profile is the exact, replayable one.
  Profile announced = applied;
  if (announced.chaos) {
    announced.chaos->seed = run_seed;
    announced.chaos->fixed = true;
  }
  if (announced.sched) {
    announced.sched->seed = sched_seed;
    announced.sched->fixed = true;
  }
  env.Set("FLAKY_STARVE_PROFILE", announced.ToString());

  std::vector<char*> argv;
  std::vector<std::string> args = options.command;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<char*> envp = env.Pointers();

  std::string record_file = options.record_file;
  if (record_file.empty()) {
    const char* outputs = getenv("TEST_UNDECLARED_OUTPUTS_DIR");
    if (outputs != nullptr && *outputs != '\0') {
      record_file = absl::StrCat(outputs, "/", kRecordFileName);
    }
  }
  // fill_record completes the record from what was applied, once the last
  // fallback has been taken.
  auto fill_record = [&] {
    record.hogs = applied.hogs;
    record.cpus = test_cpus;
    if (applied.chaos) {
      const ChaosSpec& c = *applied.chaos;
      AppliedChaos chaos;
      chaos.seed = run_seed;
      chaos.base_seed = c.seed;
      chaos.fixed = c.fixed;
      chaos.stall_percent = c.stall_percent;
      chaos.burst = c.burst;
      chaos.min_ms = c.min_ms;
      chaos.max_ms = c.max_ms;
      chaos.cap_percent = c.cap_percent;
      record.chaos = chaos;
    }
    if (applied.sched) {
      const SchedSpec& s = *applied.sched;
      AppliedSched sched;
      sched.seed = sched_seed;
      sched.base_seed = s.seed;
      sched.fixed = s.fixed;
      sched.min_ms = s.min_ms;
      sched.max_ms = s.max_ms;
      sched.modes = SchedModeNames(s.modes);
      record.sched = sched;
    }
    record.profile = applied.ToString();
  };

  if (!options.supervise && !NeedsSupervisor(applied)) {
    // Exec in place: the affinity is the wrapper's own, which exec keeps.
    if (!applied.cpus.empty()) {
      cpu_set_t set;
      CPU_ZERO(&set);
      for (int cpu : applied.cpus) CPU_SET(cpu, &set);
      if (sched_setaffinity(0, sizeof(set), &set) != 0) {
        const int err = errno;
        applied.cpus.clear();
        test_cpus = allowed;
        FLAKY_RETURN_IF_ERROR(fallback(
            TasksetPart(profile),
            absl::FailedPreconditionError(
                absl::StrCat("sched_setaffinity: ", std::strerror(err)))));
        // The announcement must not claim the pinning that failed.
        env.Set("FLAKY_STARVE_PROFILE", applied.ToString());
        envp = env.Pointers();
      }
    }
    fill_record();
    if (!record_file.empty()) {
      FLAKY_RETURN_IF_ERROR(WriteRecordFile(record_file, record.ToJson()));
    }
    WriteRecordLine(log, record);
    // The one exec outside base/process.cc: no child, this process becomes
    // the test, so its pid, exit status and signals are the test's own.
    sigprocmask(SIG_SETMASK, &signals.original(), nullptr);
    execve(path.c_str(), argv.data(), envp.data());
    return ExecError(errno, path);
  }

  // Orphans the test leaves (daemons, children of a test that exited
  // first) come to the wrapper instead of init or Bazel's process-wrapper,
  // so it can kill the whole tree when the test ends. A kernel without
  // subreapers (before 3.4) leaves the wrapper only its own children to
  // kill.
  prctl(PR_SET_CHILD_SUBREAPER, 1);

  // The test, held before exec until the profile is in place. It dies
  // with the wrapper (PR_SET_PDEATHSIG) and gets the signal mask the
  // wrapper was started with, dispositions untouched: exactly what exec in
  // place would give it.
  SpawnOptions spawn;
  spawn.argv = options.command;
  spawn.program = path;
  spawn.env = env.Entries();
  spawn.inherit_stdin = true;
  spawn.parent_death_signal = SIGKILL;
  spawn.signal_mask = signals.original();
  spawn.default_signals = false;
  spawn.hold = true;
  // Dropped before Release (an error return below), it is killed and
  // reaped.
  FLAKY_ASSIGN_OR_RETURN(Process test, Process::Spawn(spawn));
  const pid_t child = test.pid();

  if (cgroup) {
    if (absl::Status moved = cgroup->AddProcess(child); !moved.ok()) {
      cgroup.reset();
      applied.cgroup.reset();
      FLAKY_RETURN_IF_ERROR(
          fallback(CgroupPart(profile), moved));
    } else {
      record.cgroup = AppliedCgroup{cgroup->version(), cgroup->path(),
                                    cgroup->quota_us(), cgroup->period_us()};
    }
  }
  if (!applied.cpus.empty()) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int cpu : applied.cpus) CPU_SET(cpu, &set);
    if (sched_setaffinity(child, sizeof(set), &set) != 0) {
      const int err = errno;
      applied.cpus.clear();
      test_cpus = allowed;
      FLAKY_RETURN_IF_ERROR(fallback(
          TasksetPart(profile),
          absl::FailedPreconditionError(
              absl::StrCat("sched_setaffinity: ", std::strerror(err)))));
    }
  }
  // Forked while the wrapper still has one thread (the hogs come next).
  std::unique_ptr<SchedSidecar> sidecar;
  if (applied.sched) {
    absl::StatusOr<std::unique_ptr<SchedSidecar>> started =
        SchedSidecar::Start(child, *applied.sched, sched_seed, test_cpus);
    if (started.ok()) {
      sidecar = *std::move(started);
    } else {
      applied.sched.reset();
      FLAKY_RETURN_IF_ERROR(fallback(SchedPart(profile), started.status()));
    }
  }
  std::unique_ptr<Hogs> hogs;
  if (profile.hogs > 0) {
    FLAKY_ASSIGN_OR_RETURN(hogs, Hogs::Start(profile.hogs, test_cpus));
    record.hog_cpus = hogs->cpus();
  }
  fill_record();
  if (!record_file.empty()) {
    FLAKY_RETURN_IF_ERROR(WriteRecordFile(record_file, record.ToJson()));
  }
  WriteRecordLine(log, record);

  // Release the test. When its exec fails it has exited, and is reaped
  // and cleaned up after like any test before the error is returned.
  absl::Status exec_error = test.Release();
  if (absl::IsUnavailable(exec_error)) return exec_error;  // it was gone
  if (!exec_error.ok()) {
    exec_error.SetPayload(kExecPayload,
                          absl::Cord(absl::IsNotFound(exec_error) ? "enoent"
                                                                  : "exec"));
  }

  std::optional<absl::StatusOr<SchedCounters>> sched_report;
  auto stop_sidecar = [&] {
    if (sidecar && !sched_report) sched_report = sidecar->Stop();
  };
  // reap_exited reaps every child that has exited: the test (true, with its
  // status), a sidecar that died early (its changes are undone from here),
  // and orphans the test left, which would otherwise stay zombies.
  auto reap_exited = [&]() -> bool {
    bool test_ended = false;
    pid_t exited;
    while ((exited = ExitedChild()) > 0) {
      if (exited == child) {
        test.Wait();
        test_ended = true;
      } else if (sidecar && !sched_report && exited == sidecar->pid()) {
        if (!sidecar->CheckAlive()) stop_sidecar();
      } else {
        // An orphan of the test, adopted as its subreaper (KillLeftovers).
        int status = 0;
        while (waitpid(exited, &status, 0) < 0 && errno == EINTR) {
        }
      }
    }
    return test_ended;
  };
  while (true) {
    siginfo_t info;
    const int sig = sigwaitinfo(&signals.blocked(), &info);
    if (sig < 0) continue;  // EINTR
    if (sig == SIGCHLD) {
      if (reap_exited()) break;
      continue;
    }
    // Bazel's timeout or an interrupt: pass it on, and stop competing for
    // the CPU (and demoting threads) so the test can shut down quickly.
    test.Signal(sig);
    if (hogs) hogs->Stop();
    stop_sidecar();
  }
  if (hogs) hogs->Stop();
  stop_sidecar();
  // Nothing the test started outlives its run: the counters below are then
  // final, and the cgroup is empty before it is removed.
  record.killed = KillLeftovers();
  if (sched_report && record.sched) {
    if (sched_report->ok()) {
      const SchedCounters& c = **sched_report;
      record.sched->counters =
          AppliedSchedCounters{c.windows, c.threads, c.changes, c.refused,
                               c.stalls, c.held};
    } else {
      log << kWarningPrefix << SchedPart(applied) << ": "
          << sched_report->status().message() << "\n";
    }
  }
  if (cgroup) {
    if (absl::Status removed = cgroup->Remove(); !removed.ok()) {
      log << kErrorPrefix << "cleanup: " << removed.message() << "\n";
    }
  }
  if (!exec_error.ok()) return exec_error;
  // The record again, now with what the perturbations did.
  if (record.chaos && shim) record.chaos->counters = shim->ReadCounters();
  if (!record_file.empty()) {
    if (absl::Status written = WriteRecordFile(record_file, record.ToJson());
        !written.ok()) {
      log << kErrorPrefix << "cleanup: " << written.message() << "\n";
    }
  }
  WriteRecordLine(log, record);
  return *test.exit_status();
}

}  // namespace flaky::starve
