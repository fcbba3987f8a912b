#include "flaky/cli/context.h"

#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace flaky::cli {
namespace {

bool HasWorkspaceFile(const std::string& dir) {
  return access((dir + "/WORKSPACE").c_str(), F_OK) == 0 ||
         access((dir + "/WORKSPACE.bazel").c_str(), F_OK) == 0;
}

// FindWorkspace looks up from `dir` for a WORKSPACE file, like bazel itself.
std::string FindWorkspace(std::string dir) {
  while (!dir.empty()) {
    if (HasWorkspaceFile(dir)) return dir;
    if (dir == "/") break;
    const size_t slash = dir.rfind('/');
    dir = slash == 0 ? "/" : dir.substr(0, slash);
  }
  return "";
}

std::string Getenv(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

}  // namespace

ProcessFacts ProcessFacts::Current() {
  ProcessFacts facts;
  char buffer[PATH_MAX];
  if (getcwd(buffer, sizeof(buffer)) != nullptr) facts.current_directory = buffer;
  facts.bazel_run_workspace = Getenv("BUILD_WORKSPACE_DIRECTORY");
  facts.bazel_run_directory = Getenv("BUILD_WORKING_DIRECTORY");
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) == 0) facts.host = host;
  facts.pid = getpid();
  facts.now = absl::Now();
  return facts;
}

std::string Context::UserPath(const std::string& path) const {
  if (path.empty() || absl::StartsWith(path, "/")) return path;
  return absl::StrCat(user_directory, "/", path);
}

Context ResolveContext(const ContextFlags& flags, const ProcessFacts& facts,
                       runner::Launcher& git) {
  Context context;
  context.workspace = !facts.bazel_run_workspace.empty()
                          ? facts.bazel_run_workspace
                          : FindWorkspace(facts.current_directory);
  context.user_directory = !facts.bazel_run_directory.empty()
                               ? facts.bazel_run_directory
                               : facts.current_directory;
  if (!flags.store.empty()) {
    context.store_path = context.UserPath(flags.store);
  } else if (!context.workspace.empty()) {
    context.store_path = context.workspace + "/flaky.db";
  } else {
    context.store_path = context.UserPath("flaky.db");
  }
  context.hunt_id_given = !flags.hunt_id.empty();
  context.hunt_id =
      context.hunt_id_given
          ? flags.hunt_id
          : absl::StrCat(absl::FormatTime("%Y%m%d-%H%M%S", facts.now,
                                          absl::UTCTimeZone()),
                         "-", facts.pid);
  context.host = facts.host;
  if (!context.workspace.empty()) {
    absl::StatusOr<runner::CommandResult> head =
        git.Run({.argv = {"git", "rev-parse", "HEAD"},
                 .working_dir = context.workspace});
    if (head.ok() && head->status.Exited(0)) {
      context.commit = std::string(absl::StripAsciiWhitespace(head->stdout_text));
    }
  }
  return context;
}

}  // namespace flaky::cli
