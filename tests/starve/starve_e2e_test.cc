// End-to-end tests of the starve wrapper: the real binary runs the probe
// under each profile, and the probe checks from the inside that the profile
// took effect. Cgroup cases need a writable cpu controller (root, outside
// Bazel's linux-sandbox: the target is tagged no-sandbox) and are skipped,
// saying why, only when the machine has none.
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "flaky/starve/cgroup.h"
#include "flaky/starve/exit_codes.h"
#include "flaky/starve/hogs.h"
#include "flaky/starve/profile.h"
#include "flaky/starve/record.h"
#include "flaky/starve/sched_perturber.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::starve {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// Generous: the machine has two cores shared by every build and test.
constexpr int kTimeoutMs = 120000;

std::string Runfile(const std::string& path) {
  return absl::StrCat(std::getenv("TEST_SRCDIR"), "/",
                      std::getenv("TEST_WORKSPACE"), "/", path);
}

std::string Starve() { return Runfile("flaky/starve/starve"); }
std::string Probe() { return Runfile("tests/starve/probe"); }
std::string ChaosWorkload() { return Runfile("flaky/starve/chaos_workload"); }
std::string SchedProbe() { return Runfile("tests/starve/sched_probe"); }

// SchedProfile is sched:SEED with the modes this machine lets the wrapper
// apply and undo: all of the default ones as root outside a user
// namespace, only cpu otherwise.
std::string SchedProfile(int seed) {
  SchedSpec spec;
  const SchedPermission permission = CheckSchedPermitted(spec, {0});
  return permission.refused.empty() ? absl::StrCat("sched:", seed)
                                    : absl::StrCat("sched:", seed, ",cpu");
}
std::string TmpDir() { return std::getenv("TEST_TMPDIR"); }

// Child is a spawned process with its stdout and stderr on pipes.
struct Child {
  pid_t pid = -1;
  int out = -1;
  int err = -1;
};

Child Spawn(const std::vector<std::string>& argv,
            const std::vector<std::string>& extra_env = {}) {
  int out[2];
  int err[2];
  EXPECT_EQ(pipe2(out, O_CLOEXEC), 0);
  EXPECT_EQ(pipe2(err, O_CLOEXEC), 0);
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const std::string name = entry.substr(0, entry.find('=') + 1);
    bool overridden = false;
    for (const std::string& extra : extra_env) {
      overridden |= absl::StartsWith(extra, name);
    }
    if (!overridden) env.push_back(entry);
  }
  for (const std::string& e : extra_env) env.push_back(e);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> envp;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    dup2(err[1], 2);
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  return Child{pid, out[0], err[0]};
}

// ReadLineWith reads `fd` until a line containing `needle` arrives and
// returns it; fails the test after kTimeoutMs.
std::string ReadLineWith(int fd, absl::string_view needle, std::string& seen) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(kTimeoutMs);
  while (true) {
    for (absl::string_view line : absl::StrSplit(seen, '\n')) {
      if (absl::StrContains(line, needle) &&
          seen.find(std::string(line) + "\n") != std::string::npos) {
        return std::string(line);
      }
    }
    const int left = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now())
            .count());
    struct pollfd p = {fd, POLLIN, 0};
    if (left <= 0 || poll(&p, 1, left) <= 0) {
      ADD_FAILURE() << "no line with \"" << needle << "\" within "
                    << kTimeoutMs << " ms; got: " << seen;
      return "";
    }
    char buffer[4096];
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n <= 0) {
      ADD_FAILURE() << "EOF before a line with \"" << needle
                    << "\"; got: " << seen;
      return "";
    }
    seen.append(buffer, n);
  }
}

struct Result {
  int status = -1;
  std::string out;
  std::string err;
};

// RunToEnd runs argv to completion, collecting its output.
Result RunToEnd(const std::vector<std::string>& argv,
           const std::vector<std::string>& extra_env = {}) {
  Child child = Spawn(argv, extra_env);
  Result result;
  struct pollfd fds[2] = {{child.out, POLLIN, 0}, {child.err, POLLIN, 0}};
  int open_fds = 2;
  while (open_fds > 0) {
    const int ready = poll(fds, 2, kTimeoutMs);
    if (ready <= 0) {
      kill(child.pid, SIGKILL);
      ADD_FAILURE() << "command did not finish within " << kTimeoutMs << " ms";
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buffer[4096];
      const ssize_t n = read(fds[i].fd, buffer, sizeof(buffer));
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? result.out : result.err).append(buffer, n);
      }
    }
  }
  waitpid(child.pid, &result.status, 0);
  return result;
}

int ExitCode(const Result& r) {
  return WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -1;
}

// CgroupUnavailable says why this machine cannot run cgroup profiles, or
// nullopt when it can.
std::optional<std::string> CgroupUnavailable() {
  absl::StatusOr<CpuHierarchy> h = DetectCpuHierarchy();
  if (!h.ok()) return std::string(h.status().message());
  if (h->read_only) return absl::StrCat(h->mount, " is mounted read-only");
  if (access(h->mount.c_str(), W_OK) != 0) {
    return absl::StrCat(h->mount, " is not writable: ", std::strerror(errno));
  }
  return std::nullopt;
}

bool Exists(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0;
}

int HogThreadsOf(pid_t pid) {
  int hogs = 0;
  const std::string tasks = absl::StrCat("/proc/", pid, "/task");
  std::vector<std::string> names;
  if (DIR* dir = opendir(tasks.c_str())) {
    while (struct dirent* entry = readdir(dir)) {
      std::ifstream comm(absl::StrCat(tasks, "/", entry->d_name, "/comm"));
      std::string name;
      if (std::getline(comm, name) && name == kHogThreadName) ++hogs;
    }
    closedir(dir);
  }
  return hogs;
}

// ExecsInPlace is the wrapper's contract (wrapper.h): profiles with nothing
// to supervise or count become the test by exec.
bool ExecsInPlace(const std::string& text) {
  absl::StatusOr<Profile> p = ParseProfile(text);
  return p.ok() && !p->cgroup && p->hogs == 0 && !p->chaos && !p->sched;
}

// RecordLines counts the record lines in the wrapper's stderr.
int RecordLines(const std::string& err) {
  int lines = 0;
  for (absl::string_view line : absl::StrSplit(err, '\n')) {
    lines += absl::StartsWith(line, kRecordTag);
  }
  return lines;
}

TEST(Starve, ProfilesTakeEffectInsideTheTest) {
  std::vector<std::string> profiles = {
      "none",      "taskset:0",          "hogs:2",
      "taskset:0+hogs:1", "env:FOO=bar+env:X=1", "chaos:7",
      "chaos:9,p=50,ms=1-5+taskset:0", SchedProfile(2),
      absl::StrCat("taskset:0+hogs:1+chaos:3+", SchedProfile(4), "+env:X=1"),
      absl::StrCat("hogs:1+", SchedProfile(6))};
  const std::optional<std::string> no_cgroup = CgroupUnavailable();
  if (no_cgroup) {
    std::cout << "skipping cgroup profiles: " << *no_cgroup << std::endl;
  } else {
    profiles.push_back("cgroup:20");
    profiles.push_back("cgroup:50/20000+taskset:0+hogs:1+chaos:3,p=50");
    profiles.push_back(
        absl::StrCat("cgroup:50/20000+hogs:1+chaos:3+", SchedProfile(5)));
  }
  for (const std::string& text : profiles) {
    SCOPED_TRACE(text);
    const std::string record_file = absl::StrCat(TmpDir(), "/record.json");
    Result r = RunToEnd({Starve(), "--profile=" + text,
                    "--record_file=" + record_file, "--", Probe()});
    ASSERT_EQ(ExitCode(r), 0) << r.err << r.out;
    EXPECT_THAT(r.out, HasSubstr("applied"));
    std::optional<AppliedRecord> record = FindAppliedRecord(r.err);
    ASSERT_TRUE(record.has_value()) << r.err;
    EXPECT_EQ(record->profile, ParseProfile(text)->ToString());
    EXPECT_TRUE(record->not_applied.empty());
    std::ifstream file(record_file);
    std::string json;
    std::getline(file, json);
    EXPECT_EQ(json, record->json);
    // Exec'd in place, the record before the test is the final one; a
    // supervisor writes it again after the test, having killed nothing.
    if (ExecsInPlace(text)) {
      EXPECT_EQ(RecordLines(r.err), 1) << r.err;
      EXPECT_FALSE(record->killed.has_value());
    } else {
      EXPECT_EQ(RecordLines(r.err), 2) << r.err;
      EXPECT_EQ(record->killed, std::optional<int64_t>(0));
    }
    if (record->cgroup) {
      EXPECT_FALSE(Exists(record->cgroup->path))
          << "run cgroup left behind: " << record->cgroup->path;
    }
  }
}

TEST(Starve, ChaosSeedFollowsTheBazelRunAndOffsetUnlessFixed) {
  struct Case {
    const char* profile;
    const char* run;
    int run_offset;  // what a hunt's later round passes
    uint64_t seed;
  };
  for (const Case& c :
       {Case{"chaos:7", "3", 0, 9}, Case{"chaos:7", "1", 0, 7},
        Case{"chaos:7,fixed", "3", 0, 7}, Case{"chaos:7", "3", 20, 29},
        Case{"chaos:7,fixed", "3", 20, 7}}) {
    Result r = RunToEnd({Starve(), absl::StrCat("--profile=", c.profile),
                         absl::StrCat("--run_offset=", c.run_offset), "--",
                         Probe()},
                        {absl::StrCat("TEST_RANDOM_SEED=", c.run)});
    ASSERT_EQ(ExitCode(r), 0) << r.err << r.out;
    // The probe saw the exact profile, and the shim used that seed.
    EXPECT_THAT(r.out, HasSubstr(absl::StrCat("chaos:", c.seed, ",fixed applied")));
    std::optional<AppliedRecord> record = FindAppliedRecord(r.err);
    ASSERT_TRUE(record.has_value()) << r.err;
    EXPECT_EQ(record->seed, std::optional<uint64_t>(c.seed)) << c.profile;
    EXPECT_EQ(record->chaos->base_seed, 7u);
    EXPECT_EQ(record->profile, c.profile);
  }
}

// The record printed after the test has ended carries what the shim did, in
// every process of the test. The hand-off workload's calls are fixed (1
// thread start, then a post and an unlock per hand-off) and at p=100
// without decay every one stalls.
TEST(Starve, ChaosCountersOfEveryProcessReachTheFinalRecord) {
  const std::string profile = "chaos:3,p=100,ms=1-1,cap=100,burst=0";
  Result one = RunToEnd({Starve(), "--profile=" + profile, "--",
                         ChaosWorkload(), "handoffs", "10"});
  ASSERT_EQ(ExitCode(one), 0) << one.err << one.out;
  std::optional<AppliedRecord> record = FindAppliedRecord(one.err);
  ASSERT_TRUE(record.has_value()) << one.err;
  ASSERT_TRUE(record->chaos.has_value());
  ASSERT_TRUE(record->chaos->counters.has_value()) << one.err;
  const ChaosCounters& counters = *record->chaos->counters;
  EXPECT_EQ(counters.processes, 1u);
  EXPECT_EQ(counters.wakeups, 21u);
  EXPECT_EQ(counters.stalls, 21u);
  EXPECT_EQ(counters.capped, 0u);
  EXPECT_GE(counters.stalled_ns, 21u * 900000u);
  EXPECT_EQ(counters.sites, 3u);
  EXPECT_EQ(counters.sites_stalled, 3u);
  // The first record, printed before the test ran, has none yet.
  const size_t first = one.err.find(std::string(kRecordTag));
  ASSERT_NE(first, std::string::npos);
  std::optional<AppliedRecord> before = FindAppliedRecord(
      one.err.substr(first, one.err.find('\n', first) - first));
  ASSERT_TRUE(before.has_value());
  EXPECT_FALSE(before->chaos->counters.has_value());

  // A shell running the workload twice: three processes load the shim.
  Result two = RunToEnd(
      {Starve(), "--profile=" + profile, "--", "/bin/sh", "-c",
       absl::StrCat(ChaosWorkload(), " handoffs 5 && ", ChaosWorkload(),
                    " handoffs 5")});
  ASSERT_EQ(ExitCode(two), 0) << two.err << two.out;
  record = FindAppliedRecord(two.err);
  ASSERT_TRUE(record.has_value() && record->chaos->counters.has_value())
      << two.err;
  EXPECT_EQ(record->chaos->counters->processes, 3u);
  EXPECT_EQ(record->chaos->counters->stalls, 22u)
      << "11 per workload, none in the shell";
}

TEST(Starve, ProbeDetectsAProfileThatIsNotApplied) {
  // The same checks fail when the announced profile was not applied, so the
  // test above can fail.
  for (const char* text : {"hogs:1", "chaos:7", "cgroup:20"}) {
    Result r = RunToEnd({Probe()}, {absl::StrCat("FLAKY_STARVE_PROFILE=", text)});
    EXPECT_EQ(ExitCode(r), 1) << text << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr("not in effect")) << text;
  }
}

// Exec'd in place (none, taskset) the status is the test's by
// construction; supervised (hogs, --supervise) the wrapper passes it on.
TEST(Starve, ExitStatusPassesThroughUnchanged) {
  for (const std::vector<std::string>& flags :
       std::vector<std::vector<std::string>>{{"--profile=none"},
                                             {"--profile=taskset:0"},
                                             {"--profile=hogs:1"},
                                             {"--profile=none", "--supervise"}}) {
    SCOPED_TRACE(absl::StrJoin(flags, " "));
    std::vector<std::string> argv = {Starve()};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.insert(argv.end(), {"--", Probe()});
    for (int code : {0, 1, 3, 124, 200}) {
      std::vector<std::string> with_code = argv;
      with_code.push_back(absl::StrCat("--exit_code=", code));
      Result r = RunToEnd(with_code);
      EXPECT_EQ(ExitCode(r), code) << r.err;
    }
    std::vector<std::string> with_signal = argv;
    with_signal.push_back(absl::StrCat("--kill_self=", SIGUSR1));
    Result killed = RunToEnd(with_signal);
    ASSERT_TRUE(WIFSIGNALED(killed.status)) << killed.err;
    EXPECT_EQ(WTERMSIG(killed.status), SIGUSR1);
    EXPECT_FALSE(WCOREDUMP(killed.status));
  }
}

TEST(Starve, CommandLineErrorsExit125WithOneLine) {
  struct Case {
    std::vector<std::string> args;
    const char* message;
  };
  const std::vector<Case> cases = {
      {{"--profile=cgroup:abc", "--", "/bin/true"},
       "bad --profile: cgroup:abc: \"abc\" is not a percentage in 1..100"},
      {{"--profile=hogs:1", "--bogus", "--", "/bin/true"}, "unknown flag --bogus"},
      {{"--", "/bin/true"}, "no --profile given"},
      {{"--profile=none", "--"}, "no test command"},
      {{"--profile=taskset:1023", "--", "/bin/true"},
       "CPU 1023 is not in this process's allowed set"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv = {Starve()};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    Result r = RunToEnd(argv);
    EXPECT_EQ(ExitCode(r), kExitProfileNotApplied) << c.message;
    EXPECT_THAT(r.err, StartsWith(std::string(kErrorPrefix) + c.message));
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(FindAppliedRecord(r.err).has_value());
  }
  Result missing = RunToEnd({Starve(), "--profile=none", "--", "/nonexistent/test"});
  EXPECT_EQ(ExitCode(missing), kExitCommandNotFound);
  EXPECT_THAT(missing.err, HasSubstr("cannot execute /nonexistent/test"));
}

TEST(Starve, FallbackRunsAndRecordsWhatWasNotApplied) {
  Result r = RunToEnd({Starve(), "--profile=taskset:1023+hogs:1", "--allow_fallback",
                  "--", Probe()});
  ASSERT_EQ(ExitCode(r), 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("flaky-starve: warning: not applying taskset:1023"));
  std::optional<AppliedRecord> record = FindAppliedRecord(r.err);
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->profile, "hogs:1");
  ASSERT_EQ(record->not_applied.size(), 1u);
  EXPECT_EQ(record->not_applied[0].part, "taskset:1023");
}

// HasInterpreter is true for a dynamically linked ELF (one with PT_INTERP).
bool HasInterpreter(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  Elf64_Ehdr header;
  if (!in.read(reinterpret_cast<char*>(&header), sizeof(header))) return false;
  for (int i = 0; i < header.e_phnum; ++i) {
    Elf64_Phdr program;
    in.seekg(header.e_phoff + static_cast<uint64_t>(i) * header.e_phentsize);
    if (!in.read(reinterpret_cast<char*>(&program), sizeof(program))) break;
    if (program.p_type == PT_INTERP) return true;
  }
  return false;
}

TEST(Starve, ChaosRefusesAStaticBinary) {
  // Debian's ldconfig is static-pie; LD_PRELOAD cannot reach it.
  const std::string static_binary = "/sbin/ldconfig";
  if (!Exists(static_binary) || HasInterpreter(static_binary)) {
    GTEST_SKIP() << "no static binary at " << static_binary;
  }
  Result r = RunToEnd({Starve(), "--profile=chaos:1", "--", static_binary,
                       "--version"});
  EXPECT_EQ(ExitCode(r), kExitProfileNotApplied) << r.err;
  EXPECT_THAT(r.err, HasSubstr("is statically linked, so the chaos shim "
                               "cannot be preloaded"));
  Result fallback = RunToEnd({Starve(), "--profile=chaos:1,p=5",
                              "--allow_fallback", "--", static_binary,
                              "--version"});
  EXPECT_EQ(ExitCode(fallback), 0) << fallback.err;
  std::optional<AppliedRecord> record = FindAppliedRecord(fallback.err);
  ASSERT_TRUE(record.has_value()) << fallback.err;
  EXPECT_EQ(record->profile, "none");
  EXPECT_FALSE(record->seed.has_value());
  ASSERT_EQ(record->not_applied.size(), 1u);
  EXPECT_EQ(record->not_applied[0].part, "chaos:1,p=5");
}

// The scheduling part needs no LD_PRELOAD: it reaches a static binary, whose
// threads see every mode of the part, and where permitted stalls it.
TEST(Starve, SchedReachesAStaticBinary) {
  const std::string profile = SchedProfile(1);
  absl::StatusOr<Profile> parsed = ParseProfile(profile);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const bool stalls = parsed->sched->modes & SchedSpec::kStall;
  // The windows are the seed's (3 = SEED + run - 1): the probe watches
  // until the first stall has ended, twice over and a second more for a
  // loaded machine, where the sidecar may start its windows late.
  int64_t until_first_stall_ns = 0;
  if (stalls) {
    SchedPlanner planner(*parsed->sched, 3, {0});  // CPUs do not change lengths
    for (SchedWindow w = planner.Next();; w = planner.Next()) {
      until_first_stall_ns += w.duration_ns;
      if (w.stall) break;
    }
  }
  Result r = RunToEnd({Starve(), "--profile=" + profile, "--", SchedProbe(),
                       absl::StrCat(2 * until_first_stall_ns / 1000000 +
                                    (stalls ? 1000 : 0))},
                      {"TEST_RANDOM_SEED=3"});
  ASSERT_EQ(ExitCode(r), 0) << r.err << r.out;
  EXPECT_THAT(r.out, HasSubstr("sched_probe: saw cpu"));
  std::optional<AppliedRecord> record = FindAppliedRecord(r.err);
  ASSERT_TRUE(record.has_value()) << r.err;
  EXPECT_EQ(record->profile, profile);
  ASSERT_TRUE(record->sched.has_value());
  EXPECT_EQ(record->sched->seed, 3u) << "SEED + run - 1";
  EXPECT_EQ(record->seed, std::optional<uint64_t>(3));
  ASSERT_TRUE(record->sched->counters.has_value()) << r.err;
  EXPECT_GE(record->sched->counters->windows, 1u);
  EXPECT_GE(record->sched->counters->threads, 4u) << "main and 3 workers";
  EXPECT_EQ(record->sched->counters->refused, 0u);
  if (stalls) {
    EXPECT_GE(record->sched->counters->stalls, 1u);
  }
}

// Without CAP_SYS_NICE a thread put in SCHED_IDLE, at nice 19 or in
// SCHED_FIFO cannot be given its scheduling back, so those modes fail the
// profile (125 and why) unless fallback is allowed.
TEST(Starve, SchedModesThatCannotBeUndoneFailOrFallBack) {
  if (geteuid() != 0 || !Exists("/usr/bin/setpriv")) {
    GTEST_SKIP() << "needs root and setpriv to run the wrapper as nobody";
  }
  char dir_template[] = "/tmp/flaky-e2e-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  const std::string starve = dir + "/starve";
  {
    std::ifstream in(Starve(), std::ios::binary);
    std::ofstream out(starve, std::ios::binary);
    out << in.rdbuf();
  }
  ASSERT_EQ(chmod(dir.c_str(), 0755), 0);
  ASSERT_EQ(chmod(starve.c_str(), 0755), 0);
  const std::vector<std::string> as_nobody = {
      "/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
      "--inh-caps=-all", starve, "--record_file=/dev/null"};
  std::vector<std::string> strict = as_nobody;
  strict.insert(strict.end(), {"--profile=sched:1,fifo", "--", "/bin/true"});
  Result refused = RunToEnd(strict);
  EXPECT_EQ(ExitCode(refused), kExitProfileNotApplied) << refused.err;
  EXPECT_THAT(refused.err,
              HasSubstr("cannot apply and undo every sched mode on this "
                        "machine: fifo: sched_setattr("));
  EXPECT_THAT(refused.err, HasSubstr("RLIMIT_RTPRIO"));
  std::vector<std::string> lenient = as_nobody;
  lenient.insert(lenient.end(),
                 {"--profile=sched:1", "--allow_fallback", "--", "/bin/true"});
  Result fallback = RunToEnd(lenient);
  EXPECT_EQ(ExitCode(fallback), 0) << fallback.err;
  std::optional<AppliedRecord> record = FindAppliedRecord(fallback.err);
  ASSERT_TRUE(record.has_value()) << fallback.err;
  EXPECT_EQ(record->profile, "sched:1,cpu");
  ASSERT_EQ(record->not_applied.size(), 1u);
  EXPECT_EQ(record->not_applied[0].part, "sched:1");
  EXPECT_THAT(record->not_applied[0].reason, HasSubstr("idle: "));
  unlink(starve.c_str());
  rmdir(dir.c_str());
}

TEST(Starve, ReadOnlyCgroupfsGivesTheSandboxHint) {
  if (std::optional<std::string> why = CgroupUnavailable()) {
    GTEST_SKIP() << "no writable cpu controller: " << *why;
  }
  absl::StatusOr<CpuHierarchy> h = DetectCpuHierarchy();
  // What Bazel's linux-sandbox does: a private mount namespace in which the
  // cgroup hierarchy is read-only.
  Result r = RunToEnd({"/usr/bin/unshare", "--mount", "--propagation", "private",
                  "/bin/sh", "-c",
                  absl::StrCat("mount -o remount,bind,ro ", h->mount,
                               " || exit 77; exec \"$0\" \"$@\""),
                  Starve(), "--profile=cgroup:20", "--", Probe()});
  if (ExitCode(r) == 77) GTEST_SKIP() << "cannot remount read-only: " << r.err;
  EXPECT_EQ(ExitCode(r), kExitProfileNotApplied) << r.err;
  EXPECT_THAT(r.err, StartsWith(std::string(kErrorPrefix)));
  EXPECT_THAT(r.err,
              HasSubstr("--strategy=TestRunner=processwrapper-sandbox"));
}

// StartWaitingProbe starts the wrapper around a probe that blocks, and
// returns once the probe runs, with the record.
struct Running {
  Child wrapper;
  pid_t probe = -1;
  AppliedRecord record;
  std::string err;  // the wrapper's stderr read so far
};

Running StartWaitingProbe(const std::string& profile,
                          const std::vector<std::string>& flags = {}) {
  Running running;
  std::vector<std::string> argv = {Starve(), "--profile=" + profile};
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.insert(argv.end(), {"--", Probe(), "--wait"});
  running.wrapper = Spawn(argv);
  std::string& err = running.err;
  std::string line =
      ReadLineWith(running.wrapper.err, std::string(kRecordTag), err);
  std::optional<AppliedRecord> record = FindAppliedRecord(line);
  EXPECT_TRUE(record.has_value()) << err;
  if (record) running.record = *record;
  std::string out;
  line = ReadLineWith(running.wrapper.out, "ready ", out);
  EXPECT_TRUE(absl::SimpleAtoi(absl::StripPrefix(line, "ready "),
                               &running.probe))
      << line;
  return running;
}

std::string CleanupProfile() {
  return absl::StrCat(CgroupUnavailable() ? "hogs:2" : "cgroup:20+hogs:2",
                      "+", SchedProfile(1));
}

// ChildrenOf lists the child processes of `pid` (the wrapper: the test and
// the sched sidecar).
std::vector<pid_t> ChildrenOf(pid_t pid) {
  std::vector<pid_t> children;
  std::ifstream in(absl::StrCat("/proc/", pid, "/task/", pid, "/children"));
  pid_t child = 0;
  while (in >> child) children.push_back(child);
  return children;
}

// SidecarOf is the wrapper's child that is not the test.
pid_t SidecarOf(const Running& running) {
  for (pid_t child : ChildrenOf(running.wrapper.pid)) {
    if (child != running.probe) return child;
  }
  return -1;
}

// WaitForExit waits until `pid` (not necessarily our child) has exited.
void WaitForExit(pid_t pid) {
  const int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) {
    ASSERT_EQ(errno, ESRCH) << "pidfd_open: " << std::strerror(errno);
    return;  // already gone
  }
  struct pollfd p = {fd, POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, kTimeoutMs), 1)
      << "process " << pid << " still alive after " << kTimeoutMs << " ms";
  close(fd);
}

TEST(Starve, SigtermStopsTheTestAndLeavesNothingBehind) {
  const std::string profile = CleanupProfile();
  Running running = StartWaitingProbe(profile);
  ASSERT_GT(running.probe, 0);
  EXPECT_EQ(HogThreadsOf(running.wrapper.pid), 2);
  if (running.record.cgroup) {
    EXPECT_TRUE(Exists(running.record.cgroup->path));
  }
  const pid_t sidecar = SidecarOf(running);
  ASSERT_GT(sidecar, 0) << "no sched sidecar";
  ASSERT_EQ(kill(running.wrapper.pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(waitpid(running.wrapper.pid, &status, 0), running.wrapper.pid);
  // The probe died of the forwarded SIGTERM; the wrapper re-raised it.
  ASSERT_TRUE(WIFSIGNALED(status)) << status;
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
  EXPECT_FALSE(Exists(absl::StrCat("/proc/", running.probe)));
  EXPECT_FALSE(Exists(absl::StrCat("/proc/", sidecar)))
      << "the sched sidecar outlived the wrapper";
  if (running.record.cgroup) {
    EXPECT_FALSE(Exists(running.record.cgroup->path))
        << "cgroup left behind: " << running.record.cgroup->path;
  }
}

TEST(Starve, ATestKilledFromOutsideTakesTheSidecarWithIt) {
  Running running = StartWaitingProbe(SchedProfile(2));
  ASSERT_GT(running.probe, 0);
  const pid_t sidecar = SidecarOf(running);
  ASSERT_GT(sidecar, 0) << "no sched sidecar";
  ASSERT_EQ(kill(running.probe, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(running.wrapper.pid, &status, 0), running.wrapper.pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << status;
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  EXPECT_FALSE(Exists(absl::StrCat("/proc/", sidecar)))
      << "the sched sidecar outlived the test";
}

// ReadRest reads `fd` to EOF after `seen`; fails the test after kTimeoutMs.
std::string ReadRest(int fd, std::string seen) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(kTimeoutMs);
  while (true) {
    const int left = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now())
            .count());
    struct pollfd p = {fd, POLLIN, 0};
    if (left <= 0 || poll(&p, 1, left) <= 0) {
      ADD_FAILURE() << "no EOF within " << kTimeoutMs << " ms; got: " << seen;
      return seen;
    }
    char buffer[4096];
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n <= 0) return seen;
    seen.append(buffer, n);
  }
}

// WaitChild reaps child `pid` once it has exited; fails the test (and
// kills it) after kTimeoutMs.
int WaitChild(pid_t pid) {
  const int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  EXPECT_GE(fd, 0) << "pidfd_open: " << std::strerror(errno);
  struct pollfd p = {fd, POLLIN, 0};
  if (poll(&p, 1, kTimeoutMs) != 1) {
    ADD_FAILURE() << "process " << pid << " still running after "
                  << kTimeoutMs << " ms";
    kill(pid, SIGKILL);
  }
  close(fd);
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  return status;
}

// Profiles that need no supervisor exec the test in place: the wrapper's
// process is the test (no child, no sidecar), every signal reaches it, not
// only the four a supervisor forwards, and its one record, written before
// the test, is final.
TEST(Starve, ExecInPlaceMakesTheWrapperTheTest) {
  struct Case {
    std::string profile;
    int sig;
  };
  for (const Case& c : {Case{"none", SIGTERM}, Case{"taskset:0", SIGUSR1},
                        Case{"env:X=1+taskset:0", SIGUSR2}}) {
    SCOPED_TRACE(c.profile);
    Running running = StartWaitingProbe(c.profile);
    ASSERT_GT(running.probe, 0);
    EXPECT_EQ(running.probe, running.wrapper.pid) << "not exec'd in place";
    EXPECT_EQ(running.record.wrapper_pid, running.probe);
    EXPECT_TRUE(ChildrenOf(running.probe).empty());
    ASSERT_EQ(kill(running.wrapper.pid, c.sig), 0);
    const int status = WaitChild(running.wrapper.pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << status;
    EXPECT_EQ(WTERMSIG(status), c.sig);
    const std::string err = ReadRest(running.wrapper.err, running.err);
    EXPECT_EQ(RecordLines(err), 1) << err;
    std::optional<AppliedRecord> last = FindAppliedRecord(err);
    ASSERT_TRUE(last.has_value());
    EXPECT_EQ(last->json, running.record.json);
    EXPECT_EQ(last->profile, ParseProfile(c.profile)->ToString());
    close(running.wrapper.out);
    close(running.wrapper.err);
  }
}

// --supervise keeps the wrapper as the parent of a profile that needs
// none: a second record closes the run.
TEST(Starve, SuperviseKeepsAParentForAnyProfile) {
  Running running = StartWaitingProbe("none", {"--supervise"});
  ASSERT_GT(running.probe, 0);
  EXPECT_NE(running.probe, running.wrapper.pid);
  EXPECT_EQ(ChildrenOf(running.wrapper.pid),
            std::vector<pid_t>{running.probe});
  ASSERT_EQ(kill(running.wrapper.pid, SIGTERM), 0);
  const int status = WaitChild(running.wrapper.pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << status;
  EXPECT_EQ(WTERMSIG(status), SIGTERM) << "forwarded, then re-raised";
  const std::string err = ReadRest(running.wrapper.err, running.err);
  EXPECT_EQ(RecordLines(err), 2) << err;
  std::optional<AppliedRecord> last = FindAppliedRecord(err);
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->killed, std::optional<int64_t>(0));
  close(running.wrapper.out);
  close(running.wrapper.err);
}

// Leftovers is a wrapper run whose test, a shell, leaves two processes
// running when it exits: a `setsid` daemon (a session of its own, which a
// kill of the test's process group misses) and a plain background child.
struct Leftovers {
  Child wrapper;
  pid_t daemon = -1;
  pid_t child = -1;
  int daemon_fd = -1;  // pidfds, opened while both ran
  int child_fd = -1;
};

Leftovers LeaveProcessesBehind(const std::vector<std::string>& flags) {
  static int serial = 0;
  const std::string ready = absl::StrCat(TmpDir(), "/ready-", ++serial);
  const std::string go = absl::StrCat(TmpDir(), "/go-", serial);
  EXPECT_EQ(mkfifo(ready.c_str(), 0600), 0) << std::strerror(errno);
  EXPECT_EQ(mkfifo(go.c_str(), 0600), 0) << std::strerror(errno);
  // The daemon says it runs (after setsid) through the first fifo; the
  // shell then waits on the second until the test holds pidfds of both.
  const std::string script =
      "setsid /bin/sh -c 'echo \"$$\" > \"$0\"; exec /bin/sleep 100000' "
      "\"$1\" &\n"
      "read daemon < \"$1\"\n"
      "/bin/sleep 100001 &\n"
      "echo \"left $daemon $!\"\n"
      "read go < \"$2\"\n";
  std::vector<std::string> argv = {Starve()};
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.insert(argv.end(), {"--", "/bin/sh", "-c", script, "sh", ready, go});
  Leftovers run;
  run.wrapper = Spawn(argv);
  std::string out;
  const std::string line = ReadLineWith(run.wrapper.out, "left ", out);
  std::vector<std::string> pids = absl::StrSplit(line, ' ');
  EXPECT_EQ(pids.size(), 3u) << line;
  if (pids.size() != 3 || !absl::SimpleAtoi(pids[1], &run.daemon) ||
      !absl::SimpleAtoi(pids[2], &run.child)) {
    return run;
  }
  run.daemon_fd = static_cast<int>(syscall(SYS_pidfd_open, run.daemon, 0));
  run.child_fd = static_cast<int>(syscall(SYS_pidfd_open, run.child, 0));
  EXPECT_GE(run.daemon_fd, 0) << std::strerror(errno);
  EXPECT_GE(run.child_fd, 0) << std::strerror(errno);
  // It is a daemon: the leader of its own session.
  std::ifstream stat(absl::StrCat("/proc/", run.daemon, "/stat"));
  std::string text((std::istreambuf_iterator<char>(stat)),
                   std::istreambuf_iterator<char>());
  std::vector<std::string> fields =
      absl::StrSplit(text.substr(text.rfind(')') + 2), ' ');
  EXPECT_EQ(fields.size() > 3 ? fields[3] : "", absl::StrCat(run.daemon))
      << "session of " << text;
  const int release = open(go.c_str(), O_WRONLY | O_CLOEXEC);
  EXPECT_GE(release, 0) << std::strerror(errno);
  EXPECT_EQ(write(release, "\n", 1), 1);
  close(release);
  return run;
}

bool Exited(int pidfd) {
  struct pollfd p = {pidfd, POLLIN, 0};
  return poll(&p, 1, 0) == 1;
}

// Every profile that keeps a supervisor kills the test's whole tree when
// the test ends: nothing it started outlives the run, and the record says
// how many processes that took.
TEST(Starve, SupervisedRunsKillWhatTheTestLeavesRunning) {
  std::vector<std::vector<std::string>> runs = {
      {"--profile=hogs:1"},
      {"--profile=none", "--supervise"},
      {"--profile=chaos:1"},
      {"--profile=" + SchedProfile(1)}};
  if (!CgroupUnavailable()) runs.push_back({"--profile=cgroup:20+hogs:1"});
  for (const std::vector<std::string>& flags : runs) {
    SCOPED_TRACE(absl::StrJoin(flags, " "));
    Leftovers run = LeaveProcessesBehind(flags);
    ASSERT_GE(run.daemon_fd, 0);
    ASSERT_GE(run.child_fd, 0);
    const int status = WaitChild(run.wrapper.pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    // The wrapper reaped both before it exited: they are gone now, not
    // merely on their way.
    EXPECT_TRUE(Exited(run.daemon_fd)) << "setsid daemon " << run.daemon
                                       << " outlived the run";
    EXPECT_TRUE(Exited(run.child_fd)) << "child " << run.child
                                      << " outlived the run";
    const std::string err = ReadRest(run.wrapper.err, "");
    std::optional<AppliedRecord> record = FindAppliedRecord(err);
    ASSERT_TRUE(record.has_value()) << err;
    EXPECT_EQ(record->killed, std::optional<int64_t>(2)) << err;
    for (int fd : {run.daemon_fd, run.child_fd, run.wrapper.out,
                   run.wrapper.err}) {
      close(fd);
    }
  }
}

// Exec'd in place, nobody of flaky's is left to kill the tree: a daemon
// outlives the wrapper (under Bazel its sandbox kills it; README.md).
TEST(Starve, ExecInPlaceLeavesLeftoversToTheCaller) {
  Leftovers run = LeaveProcessesBehind({"--profile=none"});
  ASSERT_GE(run.daemon_fd, 0);
  ASSERT_GE(run.child_fd, 0);
  const int status = WaitChild(run.wrapper.pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_FALSE(Exited(run.daemon_fd));
  EXPECT_FALSE(Exited(run.child_fd));
  // This test started them, so it ends them, by pidfd (they also hold the
  // wrapper's stderr open).
  for (int fd : {run.daemon_fd, run.child_fd}) {
    EXPECT_EQ(syscall(SYS_pidfd_send_signal, fd, SIGKILL, nullptr, 0), 0)
        << std::strerror(errno);
    struct pollfd p = {fd, POLLIN, 0};
    EXPECT_EQ(poll(&p, 1, kTimeoutMs), 1) << "a leftover survived SIGKILL";
    close(fd);
  }
  std::optional<AppliedRecord> record =
      FindAppliedRecord(ReadRest(run.wrapper.err, ""));
  ASSERT_TRUE(record.has_value());
  EXPECT_FALSE(record->killed.has_value());
  // Orphans go to the nearest subreaper: this process when an earlier test
  // made it one. Reap them if so.
  waitpid(run.daemon, nullptr, WNOHANG);
  waitpid(run.child, nullptr, WNOHANG);
  close(run.wrapper.out);
  close(run.wrapper.err);
}

// A hunt's cgroup parent (and the level above it) removed between two runs
// by another process: the next run makes both again instead of failing
// with "No such file or directory" (issue 19).
TEST(Starve, CgroupParentThatVanishedBetweenRunsIsMadeAgain) {
  if (std::optional<std::string> why = CgroupUnavailable()) {
    GTEST_SKIP() << "no writable cpu controller: " << *why;
  }
  absl::StatusOr<CpuHierarchy> h = DetectCpuHierarchy();
  ASSERT_TRUE(h.ok()) << h.status();
  const std::string top = absl::StrCat("flaky-e2e-", getpid());
  const std::string parent = top + "/hunt-e2e@1-2";
  for (int run = 1; run <= 2; ++run) {
    SCOPED_TRACE(absl::StrCat("run ", run));
    Result r = RunToEnd({Starve(), "--profile=cgroup:20",
                         "--cgroup_parent=" + parent, "--", Probe()});
    ASSERT_EQ(ExitCode(r), 0) << r.err << r.out;
    EXPECT_THAT(r.err, Not(HasSubstr(std::string(kErrorPrefix))));
    std::optional<AppliedRecord> record = FindAppliedRecord(r.err);
    ASSERT_TRUE(record.has_value() && record->cgroup.has_value()) << r.err;
    EXPECT_THAT(record->cgroup->path,
                StartsWith(absl::StrCat(h->mount, "/", parent, "/run-")));
    EXPECT_FALSE(Exists(record->cgroup->path));
    // What another process does between the runs.
    ASSERT_EQ(rmdir(absl::StrCat(h->mount, "/", parent).c_str()), 0)
        << std::strerror(errno);
    ASSERT_EQ(rmdir(absl::StrCat(h->mount, "/", top).c_str()), 0)
        << std::strerror(errno);
  }
}

TEST(Starve, SigkillTakesTheHogsAndTheTestWithIt) {
  // Orphans come to us, so the probe's exit can be observed and reaped.
  ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  const std::string profile = CleanupProfile();
  Running running = StartWaitingProbe(profile);
  ASSERT_GT(running.probe, 0);
  EXPECT_EQ(HogThreadsOf(running.wrapper.pid), 2);
  const pid_t sidecar = SidecarOf(running);
  ASSERT_GT(sidecar, 0) << "no sched sidecar";
  ASSERT_EQ(kill(running.wrapper.pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(running.wrapper.pid, &status, 0), running.wrapper.pid);
  EXPECT_FALSE(Exists(absl::StrCat("/proc/", running.wrapper.pid, "/task")))
      << "hog threads outlived the wrapper";
  // PR_SET_PDEATHSIG kills the test when its wrapper dies.
  WaitForExit(running.probe);
  int probe_status = 0;
  ASSERT_EQ(waitpid(running.probe, &probe_status, 0), running.probe);
  ASSERT_TRUE(WIFSIGNALED(probe_status));
  EXPECT_EQ(WTERMSIG(probe_status), SIGKILL);
  // So does the sidecar's.
  WaitForExit(sidecar);
  int sidecar_status = 0;
  ASSERT_EQ(waitpid(sidecar, &sidecar_status, 0), sidecar);
  EXPECT_TRUE(WIFSIGNALED(sidecar_status) &&
              WTERMSIG(sidecar_status) == SIGKILL)
      << sidecar_status;
  if (running.record.cgroup) {
    // A SIGKILLed wrapper cannot remove its group; it is empty, and the
    // next run's stale-group collection removes it. Here the test does.
    absl::StatusOr<std::vector<pid_t>> pids =
        ReadCgroupPids(running.record.cgroup->path);
    ASSERT_TRUE(pids.ok()) << pids.status();
    EXPECT_TRUE(pids->empty());
    EXPECT_EQ(rmdir(running.record.cgroup->path.c_str()), 0)
        << std::strerror(errno);
  }
}

}  // namespace
}  // namespace flaky::starve
