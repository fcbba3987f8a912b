// The parent cgroup of one hunt's runs, and its removal. Every starve
// wrapper of a hunt puts its run group under `flaky/hunt-<id>@<owner>`
// (relative to the cpu hierarchy's mount; the wrapper creates it, with the
// controllers cgroup v2 needs), so the runner can remove everything the
// hunt left behind when it ends, even after wrappers were killed with
// their tests. The owner (the hunting process's pid and start time) tells
// a live hunt's group from a dead one's: a hunt removes only its own
// groups and those whose owner is gone, never a concurrent hunt's.
//
//   std::string parent = HuntCgroupParent("20261127-181404-30422", *Self());
//   // --run_under='... --cgroup_parent=flaky/hunt-20261127-...@4242-77001 --'
//   ... the hunt's rounds ...
//   absl::Status removed = RemoveCgroupTree(
//       hierarchy.mount + "/" + parent, absl::Seconds(10), clock);
//   SweepAbandonedHuntCgroups(hierarchy.mount + "/flaky", absl::Seconds(10), clock);
#ifndef FLAKY_RUNNER_HUNT_CGROUP_H_
#define FLAKY_RUNNER_HUNT_CGROUP_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "flaky/runner/clock.h"

namespace flaky::runner {

// ProcessOwner names a process for as long as it lives: pid numbers are
// reused, (pid, start time in clock ticks since boot) are not.
struct ProcessOwner {
  int64_t pid = 0;
  uint64_t start_ticks = 0;
  friend bool operator==(const ProcessOwner& a, const ProcessOwner& b) {
    return a.pid == b.pid && a.start_ticks == b.start_ticks;
  }
};

// OwnerOf reads `pid`'s start time from /proc. NotFound when no such
// process runs (or it is a zombie: dead, only not reaped).
absl::StatusOr<ProcessOwner> OwnerOf(int64_t pid);

// Self is OwnerOf(getpid()).
absl::StatusOr<ProcessOwner> Self();

// HuntCgroupParent is the hunt's parent group relative to the mount:
// "flaky/hunt-<hunt_id>@<pid>-<start_ticks>" (characters other than
// [A-Za-z0-9_.-] in the id become '_').
std::string HuntCgroupParent(absl::string_view hunt_id, const ProcessOwner& owner);

// RemoveCgroupTree SIGKILLs every process in `dir` and its descendant
// groups, and removes them deepest first, waiting (on `clock`, up to
// `timeout`) for killed processes to leave. OK when `dir` does not exist.
// DeadlineExceeded naming the group still busy after `timeout`;
// Unavailable for other removal errors.
absl::Status RemoveCgroupTree(const std::string& dir, absl::Duration timeout,
                              Clock& clock);

// SweepAbandonedHuntCgroups removes the `hunt-*` groups under `base` whose
// owner is gone (hunts killed before they could clean up), with whatever
// they still hold (RemoveCgroupTree), and returns how many it removed.
// Groups of live owners are left alone, busy or not: a concurrent hunt's
// parent is empty between its runs, and removing it failed that hunt's
// next run. Groups without an owner in their name (older flaky) are
// removed only when empty.
int SweepAbandonedHuntCgroups(const std::string& base, absl::Duration timeout,
                              Clock& clock);

}  // namespace flaky::runner

#endif  // FLAKY_RUNNER_HUNT_CGROUP_H_
