#include "flaky/starve/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <functional>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/status_macros.h"

namespace flaky::starve {
namespace {

constexpr absl::string_view kDefaultParent = "flaky";
constexpr absl::string_view kRunPrefix = "run-";
// A run group whose wrapper is gone is only collected once it is this old,
// so a group a live wrapper in another PID namespace just made is safe.
constexpr int kStaleAgeSeconds = 60;

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::UnavailableError(
        absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

absl::Status ErrnoStatus(int err, absl::string_view what) {
  std::string message = absl::StrCat(what, ": ", std::strerror(err));
  switch (err) {
    case EROFS:
      return absl::FailedPreconditionError(
          absl::StrCat(message, "; ", kReadOnlyCgroupHint));
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(absl::StrCat(
          message,
          "; run as root or pass --cgroup_parent=<a group delegated to this "
          "user>"));
    default:
      return absl::UnavailableError(message);
  }
}

// WriteFile writes `content` in one write(2), as cgroupfs expects.
absl::Status WriteFile(const std::string& path, absl::string_view content) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, absl::StrCat("cannot open ", path));
  ssize_t written = write(fd, content.data(), content.size());
  int err = errno;
  close(fd);
  if (written != static_cast<ssize_t>(content.size())) {
    return ErrnoStatus(err, absl::StrCat("cannot write \"", content, "\" to ",
                                         path));
  }
  return absl::OkStatus();
}

// MakeParent creates `parent_path` and every missing level between the
// hierarchy's mount and it, enabling the cpu controller for the children of
// each level on cgroup v2 (a group gets cpu.max only when its parent
// delegates cpu). Sets *vanished when a level disappeared while it was
// being made (ENOENT): another process removed it.
absl::Status MakeParent(const CpuHierarchy& hierarchy,
                        const std::string& parent_path, bool* vanished) {
  std::string level = hierarchy.mount;
  std::vector<std::string> steps = absl::StrSplit(
      absl::string_view(parent_path).substr(hierarchy.mount.size()), '/',
      absl::SkipEmpty());
  auto delegate = [&]() -> absl::Status {
    if (hierarchy.version != 2) return absl::OkStatus();
    const std::string control = absl::StrCat(level, "/cgroup.subtree_control");
    absl::Status written = WriteFile(control, "+cpu");
    if (!written.ok() && access(level.c_str(), F_OK) != 0 && errno == ENOENT) {
      *vanished = true;
    }
    return written;
  };
  FLAKY_RETURN_IF_ERROR(delegate());
  for (const std::string& step : steps) {
    absl::StrAppend(&level, "/", step);
    if (mkdir(level.c_str(), 0755) != 0 && errno != EEXIST) {
      const int err = errno;
      *vanished = err == ENOENT;
      return ErrnoStatus(err, absl::StrCat("cannot create cgroup ", level));
    }
    FLAKY_RETURN_IF_ERROR(delegate());
  }
  return absl::OkStatus();
}

// ProcessStartTime returns field 22 of /proc/PID/stat (start time in clock
// ticks since boot), which with the pid names a process uniquely.
absl::StatusOr<std::string> ProcessStartTime(absl::string_view pid) {
  FLAKY_ASSIGN_OR_RETURN(std::string stat,
                         ReadFile(absl::StrCat("/proc/", pid, "/stat")));
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos) {
    return absl::InternalError(absl::StrCat("malformed /proc/", pid, "/stat"));
  }
  std::vector<absl::string_view> fields =
      absl::StrSplit(absl::string_view(stat).substr(paren + 2), ' ');
  // Fields after the command start at field 3 (state).
  if (fields.size() < 20) {
    return absl::InternalError(absl::StrCat("malformed /proc/", pid, "/stat"));
  }
  return std::string(fields[19]);
}

// CollectStaleGroups removes run groups whose wrapper (named in the group)
// no longer exists. Best effort: a group still busy stays.
void CollectStaleGroups(const std::string& parent) {
  DIR* dir = opendir(parent.c_str());
  if (dir == nullptr) return;
  const time_t now = time(nullptr);
  while (struct dirent* entry = readdir(dir)) {
    absl::string_view name = entry->d_name;
    if (!absl::StartsWith(name, kRunPrefix)) continue;
    std::vector<std::string> parts =
        absl::StrSplit(name.substr(kRunPrefix.size()), '-');
    if (parts.size() != 2) continue;
    absl::StatusOr<std::string> start = ProcessStartTime(parts[0]);
    if (start.ok() && *start == parts[1]) continue;  // its wrapper lives
    const std::string path = absl::StrCat(parent, "/", name);
    struct stat info;
    if (stat(path.c_str(), &info) != 0) continue;
    if (now - info.st_mtime < kStaleAgeSeconds) continue;
    rmdir(path.c_str());
  }
  closedir(dir);
}

}  // namespace

std::vector<CpuHierarchy> ParseCpuMounts(absl::string_view mountinfo) {
  std::vector<CpuHierarchy> found;
  for (absl::string_view line : absl::StrSplit(mountinfo, '\n')) {
    // id parent dev root mountpoint options [optional...] - fstype source super
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (fields.size() < 7) continue;
    size_t dash = 6;
    while (dash < fields.size() && fields[dash] != "-") ++dash;
    if (dash + 1 >= fields.size()) continue;
    absl::string_view fstype = fields[dash + 1];
    absl::string_view super_options =
        dash + 3 < fields.size() ? fields[dash + 3] : "";
    std::vector<absl::string_view> mount_options =
        absl::StrSplit(fields[5], ',');
    const bool read_only =
        std::find(mount_options.begin(), mount_options.end(), "ro") !=
        mount_options.end();
    CpuHierarchy hierarchy{0, std::string(fields[4]), read_only};
    if (fstype == "cgroup2") {
      hierarchy.version = 2;
    } else if (fstype == "cgroup") {
      std::vector<absl::string_view> options = absl::StrSplit(super_options, ',');
      if (std::find(options.begin(), options.end(), "cpu") == options.end()) {
        continue;
      }
      hierarchy.version = 1;
    } else {
      continue;
    }
    found.push_back(std::move(hierarchy));
  }
  return found;
}

absl::StatusOr<CpuHierarchy> DetectCpuHierarchy() {
  FLAKY_ASSIGN_OR_RETURN(std::string mountinfo,
                         ReadFile("/proc/self/mountinfo"));
  std::vector<CpuHierarchy> mounts = ParseCpuMounts(mountinfo);
  for (const CpuHierarchy& h : mounts) {
    if (h.version != 2) continue;
    absl::StatusOr<std::string> controllers =
        ReadFile(absl::StrCat(h.mount, "/cgroup.controllers"));
    if (!controllers.ok()) continue;
    std::vector<absl::string_view> names =
        absl::StrSplit(absl::StripAsciiWhitespace(*controllers), ' ');
    if (std::find(names.begin(), names.end(), "cpu") != names.end()) return h;
  }
  for (const CpuHierarchy& h : mounts) {
    if (h.version == 1) return h;
  }
  return absl::FailedPreconditionError(
      "no cgroup hierarchy with the cpu controller: no cgroup2 mount lists "
      "cpu in cgroup.controllers and no cgroup v1 cpu mount is in "
      "/proc/self/mountinfo; drop cgroup: from the profile or pass "
      "--allow_fallback");
}

absl::StatusOr<std::unique_ptr<RunCgroup>> RunCgroup::Create(
    const CpuHierarchy& hierarchy, absl::string_view parent,
    const CgroupLimit& limit, const std::function<void()>& after_parent) {
  std::string parent_path;
  if (parent.empty()) {
    parent_path = absl::StrCat(hierarchy.mount, "/", kDefaultParent);
  } else if (absl::StartsWith(parent, "/")) {
    if (parent != hierarchy.mount &&
        !absl::StartsWith(parent, absl::StrCat(hierarchy.mount, "/"))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--cgroup_parent=", parent, " is not inside the cpu hierarchy ",
          hierarchy.mount, "; pass a path under it or one relative to it"));
    }
    parent_path = std::string(parent);
  } else {
    parent_path = absl::StrCat(hierarchy.mount, "/", parent);
  }
  if (hierarchy.read_only) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create a cgroup under ", parent_path, ": ",
                     hierarchy.mount, " is mounted read-only; ",
                     kReadOnlyCgroupHint));
  }
  FLAKY_ASSIGN_OR_RETURN(std::string start, ProcessStartTime("self"));
  const std::string path =
      absl::StrCat(parent_path, "/", kRunPrefix, getpid(), "-", start);
  // A hunt's parent is empty between its runs, so another process may
  // remove it at any moment (an older flaky's sweep, an administrator):
  // when it vanishes before the run group is made, make it again, once.
  for (int attempt = 0;; ++attempt) {
    bool vanished = false;
    absl::Status made = MakeParent(hierarchy, parent_path, &vanished);
    if (made.ok()) {
      if (attempt == 0) CollectStaleGroups(parent_path);
      if (after_parent) after_parent();
      if (mkdir(path.c_str(), 0755) == 0) break;
      const int err = errno;
      vanished = err == ENOENT;
      made = ErrnoStatus(err, absl::StrCat("cannot create cgroup ", path));
    }
    if (!vanished) return made;
    if (attempt == 1) {
      return absl::UnavailableError(absl::StrCat(
          made.message(), " (the parent group vanished twice while the run "
                          "group was being made: another process keeps "
                          "removing ", parent_path, ")"));
    }
  }
  std::unique_ptr<RunCgroup> group(new RunCgroup(
      path, hierarchy.version, limit.QuotaUs(), limit.period_us));
  if (hierarchy.version == 2) {
    FLAKY_RETURN_IF_ERROR(
        WriteFile(absl::StrCat(path, "/cpu.max"),
                  absl::StrCat(limit.QuotaUs(), " ", limit.period_us)));
  } else {
    // The period goes first: the new group's quota is -1 (unlimited), which
    // is valid with any period, while a quota may be invalid with the
    // inherited period.
    FLAKY_RETURN_IF_ERROR(WriteFile(absl::StrCat(path, "/cpu.cfs_period_us"),
                                    absl::StrCat(limit.period_us)));
    FLAKY_RETURN_IF_ERROR(WriteFile(absl::StrCat(path, "/cpu.cfs_quota_us"),
                                    absl::StrCat(limit.QuotaUs())));
  }
  return group;
}

RunCgroup::~RunCgroup() { Remove().IgnoreError(); }

absl::Status RunCgroup::AddProcess(pid_t pid) {
  return WriteFile(absl::StrCat(path_, "/cgroup.procs"), absl::StrCat(pid));
}

absl::StatusOr<std::vector<pid_t>> ReadCgroupPids(absl::string_view group_dir) {
  FLAKY_ASSIGN_OR_RETURN(std::string text,
                         ReadFile(absl::StrCat(group_dir, "/cgroup.procs")));
  std::vector<pid_t> pids;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    int pid = 0;
    if (absl::SimpleAtoi(line, &pid)) pids.push_back(pid);
  }
  return pids;
}

absl::Status RunCgroup::Remove(absl::Duration timeout) {
  if (removed_) return absl::OkStatus();
  const absl::Time deadline = absl::Now() + timeout;
  // The test may have left descendants behind; they would keep the group
  // busy forever, and Bazel expects a test to leave nothing running.
  while (true) {
    if (rmdir(path_.c_str()) == 0 || errno == ENOENT) {
      removed_ = true;
      return absl::OkStatus();
    }
    if (errno != EBUSY) {
      return ErrnoStatus(errno, absl::StrCat("cannot remove cgroup ", path_));
    }
    absl::StatusOr<std::vector<pid_t>> pids = ReadCgroupPids(path_);
    if (pids.ok()) {
      for (pid_t pid : *pids) kill(pid, SIGKILL);
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("cgroup ", path_, " still busy after ",
                       absl::FormatDuration(timeout),
                       "; remove it with rmdir once its processes are gone"));
    }
    // The kernel empties the group asynchronously after the kills; cgroup
    // v1 offers no event for that, so poll briefly.
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace flaky::starve
