#include "flaky/merge_gate/affected.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "base/status_macros.h"

namespace flaky::merge_gate {
namespace {

bool IsRegularFile(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

bool Exists(const std::string& path) {
  struct stat info;
  return lstat(path.c_str(), &info) == 0;
}

std::string Dirname(absl::string_view path) {
  size_t slash = path.rfind('/');
  return slash == absl::string_view::npos ? ""
                                          : std::string(path.substr(0, slash));
}

absl::string_view Basename(absl::string_view path) {
  size_t slash = path.rfind('/');
  return slash == absl::string_view::npos ? path : path.substr(slash + 1);
}

bool IsBuildFile(absl::string_view path) {
  absl::string_view name = Basename(path);
  return name == "BUILD" || name == "BUILD.bazel";
}

// The line a human needs from a failed tool's stderr: its first "ERROR:"
// line (Bazel), else its first "fatal:" line (git), else its last line.
std::string FirstErrorLine(absl::string_view text) {
  std::vector<absl::string_view> lines =
      absl::StrSplit(text, '\n', absl::SkipWhitespace());
  for (absl::string_view prefix : {"ERROR:", "fatal:"}) {
    for (absl::string_view line : lines) {
      if (absl::StartsWith(line, prefix)) return std::string(line);
    }
  }
  return lines.empty() ? "(no error output)" : std::string(lines.back());
}

// A query of a thousand changed files is no help in a one-line error.
std::string Abbreviated(const std::string& text) {
  constexpr size_t kMax = 300;
  return text.size() <= kMax ? text : text.substr(0, kMax) + "...";
}

// Runs a git or bazel command in the workspace and returns its stdout, or
// Unavailable naming the command and its first error line.
class Tools {
 public:
  Tools(const AffectedOptions& options, Launcher& launcher)
      : options_(options), launcher_(launcher) {}

  absl::StatusOr<ProcessResult> Git(std::vector<std::string> args) {
    args.insert(args.begin(), options_.git);
    return Start(std::move(args));
  }

  absl::StatusOr<std::string> GitOutput(std::vector<std::string> args) {
    std::string shown = absl::StrJoin(args, " ");
    FLAKY_ASSIGN_OR_RETURN(ProcessResult result, Git(std::move(args)));
    if (result.exit_code != 0) {
      return absl::UnavailableError(
          absl::StrCat("git ", shown, " failed (exit ", result.exit_code,
                       ") in ", options_.workspace_dir, ": ",
                       FirstErrorLine(result.stderr_text)));
    }
    return result.stdout_text;
  }

  // Runs `bazel query --output=label` with the expression in a file, since a
  // long set() of changed files can exceed the 128 KiB limit on one argument.
  absl::StatusOr<std::vector<std::string>> Query(const std::string& query) {
    const char* tmp = getenv("TMPDIR");
    std::string path = absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp",
                                     "/flaky-gate-query-XXXXXX");
    int fd = mkstemp(path.data());
    if (fd < 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot create a query file ", path,
                       ": set TMPDIR to a writable directory"));
    }
    bool written =
        write(fd, query.data(), query.size()) ==
        static_cast<ssize_t>(query.size());
    close(fd);
    if (!written) {
      unlink(path.c_str());
      return absl::UnavailableError(
          absl::StrCat("cannot write the query file ", path));
    }
    std::vector<std::string> argv = {options_.bazel};
    argv.insert(argv.end(), options_.bazel_startup_options.begin(),
                options_.bazel_startup_options.end());
    argv.insert(argv.end(), {"query", "--output=label",
                             absl::StrCat("--query_file=", path)});
    absl::StatusOr<ProcessResult> result = Start(std::move(argv));
    unlink(path.c_str());
    if (!result.ok()) return result.status();
    if (result->exit_code != 0) {
      return absl::UnavailableError(absl::StrCat(
          "bazel query failed (exit ", result->exit_code, ") in ",
          options_.workspace_dir, ": ", FirstErrorLine(result->stderr_text),
          " (query: ", Abbreviated(query), ")"));
    }
    std::vector<std::string> labels =
        absl::StrSplit(result->stdout_text, '\n', absl::SkipWhitespace());
    return labels;
  }

 private:
  absl::StatusOr<ProcessResult> Start(std::vector<std::string> argv) {
    Command command;
    command.argv = std::move(argv);
    command.working_dir = options_.workspace_dir;
    return launcher_.Run(command);
  }

  const AffectedOptions& options_;
  Launcher& launcher_;
};

std::vector<std::string> SplitNul(absl::string_view text) {
  return absl::StrSplit(text, '\0', absl::SkipEmpty());
}

std::string Quote(absl::string_view word) { return absl::StrCat("\"", word, "\""); }

absl::Status ValidateOptions(const AffectedOptions& options) {
  if (options.base_revision.empty()) {
    return absl::InvalidArgumentError(
        "no base revision: pass the branch the change merges into, e.g. "
        "--base=origin/main");
  }
  if (options.base_revision[0] == '-') {
    return absl::InvalidArgumentError(absl::StrCat(
        "base revision '", options.base_revision,
        "' looks like a flag: pass a branch, tag or commit"));
  }
  if (options.workspace_dir.empty() ||
      (!IsRegularFile(options.workspace_dir + "/WORKSPACE") &&
       !IsRegularFile(options.workspace_dir + "/WORKSPACE.bazel"))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", options.workspace_dir,
        "' is not a Bazel workspace (no WORKSPACE file): pass the workspace "
        "root"));
  }
  return absl::OkStatus();
}

}  // namespace

bool SelectsAllTests(const std::string& path) {
  static constexpr absl::string_view kRootFiles[] = {
      "WORKSPACE",  "WORKSPACE.bazel", "MODULE.bazel",
      ".bazelrc",   ".bazelversion",   ".bazelignore"};
  for (absl::string_view name : kRootFiles) {
    if (path == name) return true;
  }
  return absl::StartsWith(path, "third_party/") ||
         absl::EndsWith(path, ".bzl");
}

bool PackageOf(const std::string& workspace_dir, const std::string& path,
               std::string* package) {
  std::string dir = Dirname(path);
  while (true) {
    std::string base = dir.empty() ? workspace_dir : workspace_dir + "/" + dir;
    if (IsRegularFile(base + "/BUILD.bazel") || IsRegularFile(base + "/BUILD")) {
      *package = dir;
      return true;
    }
    if (dir.empty()) return false;
    dir = Dirname(dir);
  }
}

std::string AffectedTestsQuery(const std::vector<std::string>& roots,
                               const std::string& universe,
                               bool include_manual) {
  // kind(".*_test rule") rather than tests(): tests() expands a test_suite
  // that depends on one affected test into all of its tests. Every Bazel
  // test rule's name ends in _test, so this keeps exactly the test rules.
  std::string candidates;
  if (roots.empty()) {
    candidates = absl::StrCat("kind(\".*_test rule\", ", universe, ")");
  } else {
    std::vector<std::string> quoted;
    quoted.reserve(roots.size());
    for (const std::string& root : roots) quoted.push_back(Quote(root));
    candidates = absl::StrCat("kind(\".*_test rule\", rdeps(", universe,
                              ", set(", absl::StrJoin(quoted, " "), ")))");
  }
  if (include_manual) return candidates;
  // `bazel query` keeps manual tests (only `bazel test //...` skips them);
  // the tags list prints as "[a, manual]", hence the delimiters.
  return absl::StrCat("let t = ", candidates,
                      " in $t except attr(tags, \"[\\[ ]manual[,\\]]\", $t)");
}

absl::StatusOr<AffectedTests> FindAffectedTests(const AffectedOptions& options,
                                                Launcher& launcher) {
  FLAKY_RETURN_IF_ERROR(ValidateOptions(options));
  Tools tools(options, launcher);

  FLAKY_ASSIGN_OR_RETURN(ProcessResult inside,
                         tools.Git({"rev-parse", "--is-inside-work-tree"}));
  if (inside.exit_code != 0 || !absl::StartsWith(inside.stdout_text, "true")) {
    return absl::FailedPreconditionError(absl::StrCat(
        options.workspace_dir,
        " is not inside a git work tree: the merge gate reads git history to "
        "know what changed"));
  }
  FLAKY_ASSIGN_OR_RETURN(
      ProcessResult base,
      tools.Git({"rev-parse", "--verify", "--quiet",
                 absl::StrCat(options.base_revision, "^{commit}")}));
  if (base.exit_code != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown base revision '", options.base_revision,
        "': git has no such commit here (in CI fetch it first, e.g. "
        "`git fetch origin main`)"));
  }
  std::string base_commit(absl::StripAsciiWhitespace(base.stdout_text));
  FLAKY_ASSIGN_OR_RETURN(ProcessResult merge_base,
                         tools.Git({"merge-base", base_commit, "HEAD"}));
  if (merge_base.exit_code != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "base revision '", options.base_revision,
        "' and HEAD share no history here: in a shallow clone fetch the full "
        "history (`git fetch --unshallow`, or fetch-depth: 0)"));
  }

  AffectedTests affected;
  affected.merge_base =
      std::string(absl::StripAsciiWhitespace(merge_base.stdout_text));
  // --no-renames: a rename is a deletion plus an addition, and both sides
  // matter. --relative: paths relative to the workspace, which may be a
  // subdirectory of the git work tree.
  std::vector<std::string> diff = {"diff", "--name-only", "--no-renames",
                                   "--relative", "-z", affected.merge_base};
  if (!options.include_uncommitted) diff.push_back("HEAD");
  FLAKY_ASSIGN_OR_RETURN(std::string diff_output, tools.GitOutput(diff));
  std::set<std::string> changed;
  for (std::string& path : SplitNul(diff_output)) changed.insert(std::move(path));
  if (options.include_uncommitted) {
    FLAKY_ASSIGN_OR_RETURN(
        std::string untracked,
        tools.GitOutput({"ls-files", "--others", "--exclude-standard", "-z"}));
    for (std::string& path : SplitNul(untracked)) changed.insert(std::move(path));
  }
  affected.changed_files.assign(changed.begin(), changed.end());

  std::set<std::string> packages_to_list;
  std::set<std::string> file_labels;
  std::set<std::string> package_roots;
  for (const std::string& path : affected.changed_files) {
    if (SelectsAllTests(path)) {
      affected.all_tests_because = path;
      break;
    }
    // A double quote cannot appear in a Bazel label.
    if (absl::StrContains(path, "\"")) continue;
    std::string package;
    if (!PackageOf(options.workspace_dir, path, &package)) continue;
    if (IsBuildFile(path) ||
        !Exists(options.workspace_dir + "/" + path)) {
      package_roots.insert(absl::StrCat("//", package, ":*"));
      continue;
    }
    std::string name = package.empty() ? path : path.substr(package.size() + 1);
    file_labels.insert(absl::StrCat("//", package, ":", name));
    packages_to_list.insert(package);
  }

  std::vector<std::string> roots;
  if (affected.all_tests_because.empty()) {
    if (!packages_to_list.empty()) {
      // Only files a target declares (in srcs, hdrs, data, a glob or
      // exports_files) have labels; asking for the others one by one would
      // fail the query, so list the packages and keep the files found.
      std::vector<std::string> patterns;
      for (const std::string& package : packages_to_list) {
        patterns.push_back(Quote(absl::StrCat("//", package, ":*")));
      }
      FLAKY_ASSIGN_OR_RETURN(
          std::vector<std::string> declared,
          tools.Query(absl::StrCat("set(", absl::StrJoin(patterns, " "), ")")));
      std::set<std::string> declared_set(declared.begin(), declared.end());
      for (const std::string& label : file_labels) {
        if (declared_set.count(label) > 0) roots.push_back(label);
      }
    }
    roots.insert(roots.end(), package_roots.begin(), package_roots.end());
    std::sort(roots.begin(), roots.end());
    affected.query_roots = roots;
    if (roots.empty()) return affected;
  }

  FLAKY_ASSIGN_OR_RETURN(
      std::vector<std::string> targets,
      tools.Query(AffectedTestsQuery(roots, options.universe,
                                     options.include_manual)));
  std::sort(targets.begin(), targets.end());
  targets.erase(std::unique(targets.begin(), targets.end()), targets.end());
  affected.targets = std::move(targets);
  return affected;
}

}  // namespace flaky::merge_gate
