#include "flaky/runner/hunt_cgroup.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/proc_file.h"
#include "base/status_macros.h"

namespace flaky::runner {
namespace {

std::vector<std::string> SubDirectories(const std::string& dir) {
  std::vector<std::string> names;
  DIR* stream = opendir(dir.c_str());
  if (stream == nullptr) return names;
  while (struct dirent* entry = readdir(stream)) {
    const std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    struct stat info;
    const std::string path = dir + "/" + name;
    if (lstat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) {
      names.push_back(name);
    }
  }
  closedir(stream);
  return names;
}

std::vector<pid_t> GroupPids(const std::string& dir) {
  std::vector<pid_t> pids;
  FILE* file = fopen((dir + "/cgroup.procs").c_str(), "r");
  if (file == nullptr) return pids;
  long pid;
  while (fscanf(file, "%ld", &pid) == 1) pids.push_back(static_cast<pid_t>(pid));
  fclose(file);
  return pids;
}

}  // namespace

absl::StatusOr<ProcessOwner> OwnerOf(int64_t pid) {
  const std::string stat = ReadProcFile(absl::StrCat("/proc/", pid, "/stat")).value_or("");
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so
  // split after its last ')'. The start time is field 22, the 20th after.
  const size_t paren = stat.rfind(')');
  if (stat.empty() || paren == std::string::npos) {
    return absl::NotFoundError(absl::StrCat("no process ", pid));
  }
  std::vector<std::string> fields =
      absl::StrSplit(stat.substr(paren + 1), ' ', absl::SkipEmpty());
  uint64_t start = 0;
  if (fields.size() < 20 || !absl::SimpleAtoi(fields[19], &start)) {
    return absl::NotFoundError(absl::StrCat("cannot read the start of process ", pid));
  }
  if (fields[0] == "Z" || fields[0] == "X") {
    return absl::NotFoundError(absl::StrCat("process ", pid, " is dead"));
  }
  return ProcessOwner{.pid = pid, .start_ticks = start};
}

absl::StatusOr<ProcessOwner> Self() { return OwnerOf(getpid()); }

std::string HuntCgroupParent(absl::string_view hunt_id, const ProcessOwner& owner) {
  std::string safe(hunt_id);
  for (char& c : safe) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' &&
        c != '.' && c != '-') {
      c = '_';
    }
  }
  return absl::StrCat("flaky/hunt-", safe, "@", owner.pid, "-", owner.start_ticks);
}

absl::Status RemoveCgroupTree(const std::string& dir, absl::Duration timeout,
                              Clock& clock) {
  struct stat info;
  if (stat(dir.c_str(), &info) != 0) return absl::OkStatus();
  for (const std::string& child : SubDirectories(dir)) {
    FLAKY_RETURN_IF_ERROR(RemoveCgroupTree(dir + "/" + child, timeout, clock));
  }
  const absl::Time deadline = clock.Now() + timeout;
  while (true) {
    // A wrapper killed with its test leaves its hogs and test children
    // here; nothing else may run in a hunt's group.
    for (pid_t pid : GroupPids(dir)) kill(pid, SIGKILL);
    if (rmdir(dir.c_str()) == 0 || errno == ENOENT) return absl::OkStatus();
    if (errno != EBUSY) {
      return absl::UnavailableError(absl::StrCat(
          "cannot remove cgroup ", dir, ": ", std::strerror(errno)));
    }
    if (clock.Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "cgroup ", dir, " still has processes after ",
          absl::FormatDuration(timeout), "; remove it by hand (rmdir)"));
    }
    clock.SleepFor(absl::Milliseconds(10));
  }
}

int SweepAbandonedHuntCgroups(const std::string& base, absl::Duration timeout,
                              Clock& clock) {
  int removed = 0;
  for (const std::string& name : SubDirectories(base)) {
    if (!absl::StartsWith(name, "hunt-")) continue;
    const std::string dir = base + "/" + name;
    // "hunt-<id>@<pid>-<start>": the id may hold '@' and '-', the owner
    // does not.
    const size_t at = name.rfind('@');
    const size_t dash = at == std::string::npos ? at : name.find('-', at);
    ProcessOwner owner;
    if (at == std::string::npos || dash == std::string::npos ||
        !absl::SimpleAtoi(name.substr(at + 1, dash - at - 1), &owner.pid) ||
        !absl::SimpleAtoi(name.substr(dash + 1), &owner.start_ticks)) {
      // rmdir only succeeds on a group without processes or children.
      if (rmdir(dir.c_str()) == 0) ++removed;
      continue;
    }
    absl::StatusOr<ProcessOwner> alive = OwnerOf(owner.pid);
    if (alive.ok() && *alive == owner) continue;
    if (RemoveCgroupTree(dir, timeout, clock).ok()) ++removed;
  }
  return removed;
}

}  // namespace flaky::runner
