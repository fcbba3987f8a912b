#include "flaky/cli/subcommands.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"

namespace flaky::cli {

const Subcommand* FindSubcommand(const std::vector<Subcommand>& table,
                                 absl::string_view name) {
  for (const Subcommand& row : table) {
    if (row.name == name) return &row;
  }
  return nullptr;
}

absl::StatusOr<const Subcommand*> SelectSubcommand(
    const std::vector<Subcommand>& table,
    const std::vector<std::string>& positional) {
  if (positional.empty()) {
    return absl::InvalidArgumentError(
        "no command given: try `flaky hunt //your:test` or `flaky --help`");
  }
  if (const Subcommand* row = FindSubcommand(table, positional[0])) return row;
  std::vector<std::string> names;
  for (const Subcommand& row : table) names.push_back(row.name);
  return absl::InvalidArgumentError(absl::StrCat("unknown command '", positional[0],
                                                 "': the commands are ",
                                                 absl::StrJoin(names, ", ")));
}

std::string UsageText(absl::string_view program,
                      const std::vector<Subcommand>& table) {
  std::string text = absl::StrCat(
      "finds, measures and verifies flaky Bazel tests by starving them of "
      "CPU.\n\nUsage: ",
      program, " COMMAND [FLAGS] ARGS [-- BAZEL_FLAGS]\n\nCommands:\n");
  for (const Subcommand& row : table) {
    absl::StrAppend(&text, "  ", row.name, " ", row.usage, "\n      ",
                    row.summary, "\n");
  }
  absl::StrAppend(&text,
                  "\nEvery --flag has an environment twin FLAKY_<FLAG> "
                  "(e.g. FLAKY_RUNS=500); the command line wins.");
  return text;
}

SplitArgs SplitAtDoubleDash(int argc, char** argv) {
  SplitArgs split;
  int i = 1;
  for (; i < argc; ++i) {
    if (std::string(argv[i]) == "--") break;
    split.ours.push_back(argv[i]);
  }
  for (++i; i < argc; ++i) split.passthrough.push_back(argv[i]);
  return split;
}

}  // namespace flaky::cli
