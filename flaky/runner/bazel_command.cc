#include "flaky/runner/bazel_command.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace flaky::runner {
namespace {

std::vector<std::string> Prefix(const BazelSetup& setup,
                                absl::string_view command) {
  std::vector<std::string> argv = {setup.bazel};
  argv.insert(argv.end(), setup.startup_flags.begin(),
              setup.startup_flags.end());
  argv.emplace_back(command);
  return argv;
}

// ShellWord quotes `word` for Bazel's --run_under tokenizer (Bourne shell
// rules) when it holds anything but plain characters.
std::string ShellWord(absl::string_view word) {
  bool plain = !word.empty();
  for (char c : word) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
          absl::StrContains("_-+=:,./@%", c))) {
      plain = false;
    }
  }
  if (plain) return std::string(word);
  return absl::StrCat("'", absl::StrReplaceAll(word, {{"'", "'\\''"}}), "'");
}

}  // namespace

bool IsTargetPattern(absl::string_view target) {
  return absl::StrContains(target, "...") || absl::EndsWith(target, ":all") ||
         absl::EndsWith(target, ":*") ||
         absl::EndsWith(target, ":all-targets");
}

std::string CanonicalLabel(absl::string_view target) {
  std::string label(target);
  if (!absl::StartsWith(label, "//") && !absl::StartsWith(label, "@")) {
    label = absl::StrCat("//", label);
  }
  size_t root = label.find("//");
  if (label.find(':', root) == std::string::npos) {
    size_t slash = label.rfind('/');
    absl::string_view name = absl::string_view(label).substr(slash + 1);
    if (!name.empty()) label = absl::StrCat(label, ":", name);
  }
  return label;
}

std::vector<std::string> QueryTestsCommand(
    const BazelSetup& setup, const std::vector<std::string>& targets) {
  std::vector<std::string> explicit_targets;
  std::vector<std::string> patterns;
  for (const std::string& target : targets) {
    (IsTargetPattern(target) ? patterns : explicit_targets).push_back(target);
  }
  std::vector<std::string> parts;
  if (!explicit_targets.empty()) {
    std::string set = absl::StrCat("set(", absl::StrJoin(explicit_targets, " "),
                                   ")");
    parts.push_back(absl::StrCat(set, " + tests(", set, ")"));
  }
  if (!patterns.empty()) {
    std::string set = absl::StrCat("set(", absl::StrJoin(patterns, " "), ")");
    parts.push_back(absl::StrCat("(tests(", set,
                                 R"() except attr("tags", "\bmanual\b", )",
                                 set, "))"));
  }
  std::vector<std::string> argv = Prefix(setup, "query");
  argv.push_back("--output=label_kind");
  argv.push_back(absl::StrJoin(parts, " + "));
  return argv;
}

std::vector<std::string> QueryLabelCommand(const BazelSetup& setup,
                                           const std::string& label) {
  std::vector<std::string> argv = Prefix(setup, "query");
  argv.push_back(label);
  return argv;
}

std::vector<std::string> BuildCommand(const BazelSetup& setup,
                                      const std::vector<std::string>& targets,
                                      const std::string& wrapper) {
  std::vector<std::string> argv = Prefix(setup, "build");
  argv.insert(argv.end(), setup.extra_flags.begin(), setup.extra_flags.end());
  argv.push_back("--");
  argv.insert(argv.end(), targets.begin(), targets.end());
  if (!wrapper.empty()) argv.push_back(wrapper);
  return argv;
}

std::vector<std::string> WrapperFlags(const TestInvocation& invocation) {
  std::vector<std::string> flags = {absl::StrCat("--profile=", invocation.profile)};
  if (invocation.allow_fallback) flags.push_back("--allow_fallback");
  if (invocation.run_offset > 0) {
    flags.push_back(absl::StrCat("--run_offset=", invocation.run_offset));
  }
  if (!invocation.cgroup_parent.empty()) {
    flags.push_back(absl::StrCat("--cgroup_parent=", invocation.cgroup_parent));
  }
  // The runner reads the wrapper's record from its line in test.log. The
  // copy the wrapper would write to the undeclared outputs makes Bazel zip
  // them after every run, which cost a quarter of Bazel's throughput on a
  // fast test (BENCHMARKS.md, throughput).
  flags.push_back("--record_file=/dev/null");
  flags.push_back("--");
  return flags;
}

std::vector<std::string> QueryXmlCommand(const BazelSetup& setup,
                                         const std::vector<std::string>& labels) {
  std::vector<std::string> argv = Prefix(setup, "query");
  argv.push_back("--output=xml");
  argv.push_back(absl::StrJoin(labels, " + "));
  return argv;
}

std::vector<std::string> InfoCommand(const BazelSetup& setup, const std::string& key) {
  std::vector<std::string> argv = Prefix(setup, "info");
  // `bazel info bazel-bin` depends on the build flags (a --config, -c opt).
  argv.insert(argv.end(), setup.extra_flags.begin(), setup.extra_flags.end());
  argv.push_back(key);
  return argv;
}

std::vector<std::string> TestCommand(const BazelSetup& setup,
                                     const TestInvocation& invocation) {
  std::vector<std::string> argv = Prefix(setup, "test");
  argv.push_back(absl::StrCat("--runs_per_test=", invocation.runs));
  if (!invocation.wrapper.empty()) {
    std::string run_under = absl::StrCat("--run_under=", invocation.wrapper);
    for (const std::string& flag : WrapperFlags(invocation)) {
      // --name=VALUE with only the value quoted, as a user would write it.
      const size_t equals = flag.find('=');
      absl::StrAppend(&run_under, " ",
                      equals == std::string::npos
                          ? flag
                          : absl::StrCat(flag.substr(0, equals + 1),
                                         ShellWord(flag.substr(equals + 1))));
    }
    argv.push_back(run_under);
  }
  argv.push_back(
      absl::StrCat("--build_event_json_file=", invocation.bep_path));
  // The runner reads each run's test.log and test.xml from disk. Under
  // remote execution Bazel would name them by bytestream:// URIs into the
  // remote cache even after downloading them; this keeps the file:// ones.
  argv.push_back("--build_event_json_file_path_conversion=false");
  // Every run must really execute: a cached pass is not a trial.
  argv.push_back("--nocache_test_results");
  // The hunt reads results from the BEP and test.xml; Bazel's console
  // summary would only flood the log with one line per run.
  argv.push_back("--test_output=summary");
  argv.push_back("--test_summary=terse");
  if (invocation.needs_process_wrapper) {
    argv.push_back("--strategy=TestRunner=processwrapper-sandbox");
  }
  if (invocation.repeat > 1) {
    argv.push_back(absl::StrCat("--test_arg=--gtest_repeat=", invocation.repeat));
  }
  argv.insert(argv.end(), setup.extra_flags.begin(), setup.extra_flags.end());
  argv.push_back("--");
  argv.insert(argv.end(), invocation.targets.begin(), invocation.targets.end());
  return argv;
}

absl::StatusOr<std::vector<LabelKind>> ParseLabelKinds(absl::string_view text) {
  std::vector<LabelKind> kinds;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    size_t space = line.rfind(' ');
    if (space == absl::string_view::npos || space == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "bazel query output line ", line_number, " is not \"KIND LABEL\": ",
          line));
    }
    kinds.push_back({std::string(line.substr(0, space)),
                     std::string(line.substr(space + 1))});
  }
  return kinds;
}

absl::StatusOr<std::vector<std::string>> SelectTests(
    const std::vector<std::string>& targets,
    const std::vector<LabelKind>& kinds) {
  for (const std::string& target : targets) {
    if (IsTargetPattern(target)) continue;
    const std::string label = CanonicalLabel(target);
    for (const LabelKind& kind : kinds) {
      if (kind.label != label) continue;
      if (!absl::EndsWith(kind.kind, "_test rule") &&
          kind.kind != "test_suite rule") {
        return absl::InvalidArgumentError(absl::StrCat(
            target, " is a ", kind.kind, ", not a test: give test targets (",
            "`bazel query 'tests(//...)'` lists them)"));
      }
    }
  }
  std::set<std::string> tests;
  for (const LabelKind& kind : kinds) {
    if (absl::EndsWith(kind.kind, "_test rule")) tests.insert(kind.label);
  }
  if (tests.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "no test targets in ", absl::StrJoin(targets, " "),
        " (patterns skip tests tagged manual: name those explicitly)"));
  }
  return std::vector<std::string>(tests.begin(), tests.end());
}

std::string FirstBazelError(absl::string_view stderr_text) {
  // A full disk explains every later error (and truncated files): say it
  // first, whatever Bazel printed before.
  for (absl::string_view line : absl::StrSplit(stderr_text, '\n')) {
    if (absl::StrContains(line, "No space left on device")) {
      line = absl::StripAsciiWhitespace(line);
      absl::ConsumePrefix(&line, "ERROR: ");
      return absl::StrCat("the disk is full: ", line);
    }
  }
  absl::string_view last;
  for (absl::string_view line : absl::StrSplit(stderr_text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    if (absl::ConsumePrefix(&line, "ERROR: ")) {
      // "ERROR: /path/BUILD:3:8: message" -> keep the message; a bare
      // "ERROR: message" stays whole.
      if (absl::StartsWith(line, "/")) {
        size_t colon = line.find(": ");
        if (colon != absl::string_view::npos) line = line.substr(colon + 2);
      }
      return std::string(line);
    }
    last = line;
  }
  return std::string(last);
}

}  // namespace flaky::runner
