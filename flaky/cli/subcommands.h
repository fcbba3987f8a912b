// The `flaky` command line: subcommands as rows of one table, `--` to pass
// flags through to Bazel, and FLAKY_<FLAG> environment twins of flags.
//
//   const std::vector<Subcommand> kCommands = {
//       {"hunt", "TARGETS... [-- BAZEL_FLAGS]", "rerun tests under starvation",
//        RunHunt},
//   };
//   SplitArgs split = SplitAtDoubleDash(argc, argv);  // before absl parses
//   const Subcommand* command = FindSubcommand(kCommands, "hunt");
#ifndef FLAKY_CLI_SUBCOMMANDS_H_
#define FLAKY_CLI_SUBCOMMANDS_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace flaky::cli {

// Invocation is what a subcommand receives after flag parsing.
struct Invocation {
  std::vector<std::string> args;         // positional arguments after its name
  std::vector<std::string> passthrough;  // everything after `--`
};

// Subcommand is one row of the table: `flaky NAME USAGE`.
struct Subcommand {
  std::string name;
  std::string usage;    // arguments, e.g. "TARGETS... [-- BAZEL_FLAGS]"
  std::string summary;  // one line for `flaky --help`
  // run returns the process exit code; errors are reported by main.
  std::function<absl::StatusOr<int>(const Invocation&)> run;
  // error_exit_code, when set, is the exit code of every error of this
  // command (`flaky gate` promises 3 for usage and environment errors, so
  // a merge gate can tell them from a verdict); otherwise main maps
  // Cancelled to 130, InvalidArgument to 2 and the rest to 1.
  std::optional<int> error_exit_code;
};

// FindSubcommand returns the row named `name`, or nullptr.
const Subcommand* FindSubcommand(const std::vector<Subcommand>& table,
                                 absl::string_view name);

// UsageText is the program's usage message listing every row.
std::string UsageText(absl::string_view program,
                      const std::vector<Subcommand>& table);

// SplitArgs is argv cut at the first `--`.
struct SplitArgs {
  std::vector<char*> flags;              // argv[0] and what precedes `--`
  std::vector<std::string> passthrough;  // what follows `--`
};

// SplitAtDoubleDash cuts argv at the first `--`, so absl's parser sees only
// our arguments and Bazel's flags pass through untouched.
SplitArgs SplitAtDoubleDash(int argc, char** argv);

// FlagEnvironmentName is the environment twin of a flag:
// "until_decided" -> "FLAKY_UNTIL_DECIDED".
std::string FlagEnvironmentName(absl::string_view flag);

// FlagsDefinedIn returns the names of the registered absl flags whose
// definition is in a file whose path ends with `file_suffix`, sorted.
std::vector<std::string> FlagsDefinedIn(absl::string_view file_suffix);

// ApplyEnvironmentTwins sets each registered absl flag named in `flags`
// from its FLAKY_<FLAG> variable (read with `getenv`) when that is set.
// Call it before absl::ParseCommandLine so the command line wins.
// InvalidArgument naming the variable for a value the flag rejects;
// NotFound for a name that is not a registered flag (programmer error).
absl::Status ApplyEnvironmentTwins(
    const std::vector<std::string>& flags,
    const std::function<const char*(const char*)>& getenv);

}  // namespace flaky::cli

#endif  // FLAKY_CLI_SUBCOMMANDS_H_
