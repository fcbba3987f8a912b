// The parent cgroup of one hunt's runs, and its removal. Every starve
// wrapper of a hunt puts its run group under `flaky/hunt-<id>` (relative to
// the cpu hierarchy's mount; the wrapper creates it, with the controllers
// cgroup v2 needs), so the runner can remove everything the hunt left
// behind when it ends, even after wrappers were killed with their tests.
//
//   std::string parent = HuntCgroupParent("20261127-181404-30422");
//   // --run_under='... --cgroup_parent=flaky/hunt-20261127-181404-30422 --'
//   ... the hunt's rounds ...
//   absl::Status removed = RemoveCgroupTree(
//       hierarchy.mount + "/" + parent, absl::Seconds(10), clock);
//   SweepEmptyHuntCgroups(hierarchy.mount + "/flaky");  // killed hunts' parents
#ifndef FLAKY_RUNNER_HUNT_CGROUP_H_
#define FLAKY_RUNNER_HUNT_CGROUP_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "flaky/runner/clock.h"

namespace flaky::runner {

// HuntCgroupParent is the hunt's parent group relative to the mount:
// "flaky/hunt-<hunt_id>" (characters other than [A-Za-z0-9_.-] in the id
// become '_').
std::string HuntCgroupParent(absl::string_view hunt_id);

// RemoveCgroupTree SIGKILLs every process in `dir` and its descendant
// groups, and removes them deepest first, waiting (on `clock`, up to
// `timeout`) for killed processes to leave. OK when `dir` does not exist.
// DeadlineExceeded naming the group still busy after `timeout`;
// Unavailable for other removal errors.
absl::Status RemoveCgroupTree(const std::string& dir, absl::Duration timeout,
                              Clock& clock);

// SweepEmptyHuntCgroups removes the empty `hunt-*` groups under `base`
// (left by hunts that were killed before they could clean up) and returns
// how many it removed. Groups with processes or children are left alone:
// they may belong to a hunt that is still running.
int SweepEmptyHuntCgroups(const std::string& base);

}  // namespace flaky::runner

#endif  // FLAKY_RUNNER_HUNT_CGROUP_H_
