// The `flaky` command line: subcommands as rows of one table, each with
// its exit codes, and `--` to pass flags through to Bazel (flags.h parses
// the rest).
//
//   const std::vector<Subcommand> commands = {
//       {"hunt", "TARGETS... [-- BAZEL_FLAGS]", "rerun tests under starvation",
//        RunHunt, /*usage_exit_code=*/2, /*error_exit_code=*/1},
//   };
//   SplitArgs split = SplitAtDoubleDash(argc, argv);  // before ParseFlags
//   const Subcommand* command = FindSubcommand(commands, "hunt");
#ifndef FLAKY_CLI_SUBCOMMANDS_H_
#define FLAKY_CLI_SUBCOMMANDS_H_

#include <functional>
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
  // usage_exit_code is the exit code of a usage error: an unknown flag, a
  // value or FLAKY_* twin its flag rejects, a bad argument (the command's
  // InvalidArgument). `flaky gate` uses 3, so a merge gate never mistakes a
  // typo for a verdict.
  int usage_exit_code = 2;
  // error_exit_code is the exit code of the command's other errors
  // (environment: Bazel, files, the store). Interrupted is always 130.
  int error_exit_code = 1;
};

// FindSubcommand returns the row named `name`, or nullptr.
const Subcommand* FindSubcommand(const std::vector<Subcommand>& table,
                                 absl::string_view name);

// SelectSubcommand returns the row named by the first of `positional`
// (the arguments that are not flags). InvalidArgument when there is none
// or no row has that name (the message lists the commands).
absl::StatusOr<const Subcommand*> SelectSubcommand(
    const std::vector<Subcommand>& table,
    const std::vector<std::string>& positional);

// UsageText is the program's usage message listing every row.
std::string UsageText(absl::string_view program,
                      const std::vector<Subcommand>& table);

// SplitArgs is argv cut at the first `--`.
struct SplitArgs {
  std::vector<std::string> ours;         // what precedes `--`, without argv[0]
  std::vector<std::string> passthrough;  // what follows `--`
};

// SplitAtDoubleDash cuts argv at the first `--`, so ParseFlags (flags.h)
// sees only our arguments and Bazel's flags pass through untouched.
SplitArgs SplitAtDoubleDash(int argc, char** argv);

}  // namespace flaky::cli

#endif  // FLAKY_CLI_SUBCOMMANDS_H_
