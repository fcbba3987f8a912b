// CPU bandwidth limits through a per-run cgroup (v2 `cpu.max`, or v1
// `cpu.cfs_quota_us`/`cpu.cfs_period_us` where only v1 is writable).
//
//   FLAKY_ASSIGN_OR_RETURN(CpuHierarchy h, DetectCpuHierarchy());
//   FLAKY_ASSIGN_OR_RETURN(std::unique_ptr<RunCgroup> group,
//                          RunCgroup::Create(h, "", limit));
//   FLAKY_RETURN_IF_ERROR(group->AddProcess(child_pid));
//   ... wait for the child ...
//   FLAKY_RETURN_IF_ERROR(group->Remove());  // kills stragglers, rmdir
//
// The run group lives under a parent group (default `flaky` at the root of
// the cpu hierarchy; it and every level above it are created when missing)
// so that concurrent runs do not collide and stale groups from killed
// wrappers can be found and removed. A parent that another process removes
// while the run group is being made is made again, once.
#ifndef FLAKY_STARVE_CGROUP_H_
#define FLAKY_STARVE_CGROUP_H_

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "flaky/starve/profile.h"

namespace flaky::starve {

// CpuHierarchy is a mounted cgroup hierarchy that carries the cpu
// controller.
struct CpuHierarchy {
  int version = 0;     // 1 or 2
  std::string mount;   // e.g. /sys/fs/cgroup/cpu
  bool read_only = false;
};

// ParseCpuMounts returns the cgroup mounts in `mountinfo` (the text of
// /proc/self/mountinfo) that can carry the cpu controller: every cgroup2
// mount, and v1 mounts whose super options include `cpu`.
std::vector<CpuHierarchy> ParseCpuMounts(absl::string_view mountinfo);

// DetectCpuHierarchy picks the hierarchy to use: a cgroup2 mount whose
// cgroup.controllers lists cpu, else a v1 cpu mount. FailedPrecondition when
// there is neither, with a message that says what to do.
absl::StatusOr<CpuHierarchy> DetectCpuHierarchy();

// RunCgroup is one run's child group. Not thread-safe.
class RunCgroup {
 public:
  // Create makes the run group under `parent` (a path, absolute or relative
  // to the hierarchy's mount; empty means `flaky`), creating the parent and
  // the levels above it when missing (with the cpu controller delegated on
  // v2), removes stale run groups of dead wrappers, and writes `limit`.
  // When the parent vanishes before the run group is made, it is made again
  // and the run group retried once. `after_parent`, when set, runs between
  // making the parent and making the run group, the moment a concurrent
  // removal hurts: tests remove the parent there. Errors:
  // FailedPrecondition for a read-only cgroupfs (with the Bazel strategy
  // hint), PermissionDenied, InvalidArgument for a parent outside the
  // hierarchy, Unavailable for other I/O failures (and for a parent that
  // vanished twice).
  static absl::StatusOr<std::unique_ptr<RunCgroup>> Create(
      const CpuHierarchy& hierarchy, absl::string_view parent,
      const CgroupLimit& limit,
      const std::function<void()>& after_parent = nullptr);

  RunCgroup(const RunCgroup&) = delete;
  RunCgroup& operator=(const RunCgroup&) = delete;
  // ~RunCgroup removes the group if Remove has not.
  ~RunCgroup();

  // AddProcess moves `pid` (all its threads) into the group.
  absl::Status AddProcess(pid_t pid);

  // Remove SIGKILLs any process still in the group, waits until it is empty
  // and removes the directory. Idempotent. DeadlineExceeded when the group
  // is still busy after `timeout`.
  absl::Status Remove(absl::Duration timeout = absl::Seconds(10));

  const std::string& path() const { return path_; }
  int version() const { return version_; }
  int64_t quota_us() const { return quota_us_; }
  int64_t period_us() const { return period_us_; }

 private:
  RunCgroup(std::string path, int version, int64_t quota_us,
            int64_t period_us)
      : path_(std::move(path)),
        version_(version),
        quota_us_(quota_us),
        period_us_(period_us) {}

  std::string path_;
  int version_;
  int64_t quota_us_;
  int64_t period_us_;
  bool removed_ = false;
};

// ReadCgroupPids returns the pids listed in `group_dir`/cgroup.procs.
absl::StatusOr<std::vector<pid_t>> ReadCgroupPids(absl::string_view group_dir);

// kReadOnlyCgroupHint tells the user how to get a writable cgroupfs in Bazel.
inline constexpr absl::string_view kReadOnlyCgroupHint =
    "under Bazel this is the linux-sandbox: rerun with "
    "--strategy=TestRunner=processwrapper-sandbox (or tag the test "
    "no-sandbox)";

}  // namespace flaky::starve

#endif  // FLAKY_STARVE_CGROUP_H_
