// The context every `flaky` command runs in, worked out once by main
// before the command starts: the workspace, the directory the user typed
// the command in, the store, the hunt id, the host and the workspace's
// commit. Commands take it as it is and never look these up themselves.
//
//   PosixLauncher launcher;  // runs `git rev-parse HEAD`
//   Context context = ResolveContext({.store = "", .hunt_id = ""},
//                                    ProcessFacts::Current(), launcher);
//   context.store_path;         // "/ws/flaky.db"
//   context.hunt_id;            // "20261202-101500-4242", a new hunt's id
//   context.UserPath("out");    // "/home/me/out": where the user typed it
#ifndef FLAKY_CLI_CONTEXT_H_
#define FLAKY_CLI_CONTEXT_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "flaky/runner/launcher.h"

namespace flaky::cli {

// ProcessFacts is what the process knows about itself; tests make their
// own.
struct ProcessFacts {
  std::string current_directory;
  // BUILD_WORKSPACE_DIRECTORY and BUILD_WORKING_DIRECTORY: `bazel run`
  // starts us in the runfiles tree and says where the user was ("" when
  // not run by Bazel).
  std::string bazel_run_workspace;
  std::string bazel_run_directory;
  std::string host;
  int64_t pid = 0;
  absl::Time now = absl::UnixEpoch();

  // Current returns this process's facts.
  static ProcessFacts Current();
};

// ContextFlags are the flags the context depends on, as typed.
struct ContextFlags {
  std::string store;    // --store; "" is flaky.db in the workspace
  std::string hunt_id;  // --hunt_id; "" names a new hunt by time and pid
};

// Context is where and as whom a command runs. Plain data.
struct Context {
  // workspace is the Bazel workspace's absolute path: Bazel's when run by
  // `bazel run`, else the nearest directory up from the current one with a
  // WORKSPACE file; "" outside any.
  std::string workspace;
  // user_directory is where relative paths the user typed are resolved.
  std::string user_directory;
  // store_path is the absolute path of the trials database.
  std::string store_path;
  // hunt_id is --hunt_id, or (hunt_id_given false) a new hunt's id:
  // "YYYYmmdd-HHMMSS-PID" in UTC. A hunt records under it; `report` and
  // `serve` filter by it only when it was given.
  std::string hunt_id;
  bool hunt_id_given = false;
  std::string host;
  // commit is `git rev-parse HEAD` in the workspace, or "" (no workspace,
  // no git, not a repository).
  std::string commit;

  // UserPath resolves `path` against user_directory ("" and absolute paths
  // stay as they are).
  std::string UserPath(const std::string& path) const;
};

// ResolveContext works the context out from the flags and the facts,
// running `git rev-parse HEAD` in the workspace with `git`. Never fails:
// what cannot be found stays "", and the commands that need it say so.
Context ResolveContext(const ContextFlags& flags, const ProcessFacts& facts,
                       runner::Launcher& git);

}  // namespace flaky::cli

#endif  // FLAKY_CLI_CONTEXT_H_
