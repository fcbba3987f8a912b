#include "flaky/cli/subcommands.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace flaky::cli {

const Subcommand* FindSubcommand(const std::vector<Subcommand>& table,
                                 absl::string_view name) {
  for (const Subcommand& row : table) {
    if (row.name == name) return &row;
  }
  return nullptr;
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
  int i = 0;
  for (; i < argc; ++i) {
    if (i > 0 && std::string(argv[i]) == "--") break;
    split.flags.push_back(argv[i]);
  }
  for (++i; i < argc; ++i) split.passthrough.push_back(argv[i]);
  return split;
}

std::string FlagEnvironmentName(absl::string_view flag) {
  return absl::StrCat("FLAKY_", absl::AsciiStrToUpper(flag));
}

std::vector<std::string> FlagsDefinedIn(absl::string_view file_suffix) {
  std::vector<std::string> names;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (absl::EndsWith(flag->Filename(), file_suffix)) {
      names.emplace_back(name);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

absl::Status ApplyEnvironmentTwins(
    const std::vector<std::string>& flags,
    const std::function<const char*(const char*)>& getenv) {
  for (const std::string& name : flags) {
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr) {
      return absl::NotFoundError(absl::StrCat("no flag --", name));
    }
    const std::string variable = FlagEnvironmentName(name);
    const char* value = getenv(variable.c_str());
    if (value == nullptr) continue;
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(absl::StrCat(
          variable, "=", value, " is not a valid --", name, ": ", error));
    }
  }
  return absl::OkStatus();
}

}  // namespace flaky::cli
