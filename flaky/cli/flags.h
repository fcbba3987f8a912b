// Flags of a command line, parsed without ever exiting: absl's own parser
// exits 1 on an unknown flag or a bad value, and 1 means "FLAKY: block the
// merge" to `flaky gate`. ParseFlags instead returns the first bad flag as
// a Status, so main can exit with the command's usage code; environment
// twins (FLAKY_<FLAG>) go the same way.
//
//   const std::vector<std::string> known = FlagsDefinedIn("flaky/flaky_main.cc");
//   absl::Status env = ApplyEnvironmentTwins(known, std::getenv);
//   ParsedFlags parsed = ParseFlags({"hunt", "//t:a", "--runz=5"}, known);
//   // parsed.positional == {"hunt", "//t:a"}
//   // parsed.status: InvalidArgument "unknown flag --runz (did you mean --runs?)"
#ifndef FLAKY_CLI_FLAGS_H_
#define FLAKY_CLI_FLAGS_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace flaky::cli {

// ParsedFlags is what ParseFlags found besides the flags it set.
struct ParsedFlags {
  // positional are the arguments that are not flags, in order (the
  // command name first, when there is one).
  std::vector<std::string> positional;
  // help is set by --help, --helpfull or -h.
  bool help = false;
  // status is OK, or InvalidArgument naming the first flag that is unknown,
  // lacks its value or has one its type rejects (one line).
  absl::Status status;
};

// ParseFlags sets the registered absl flags named in `known` from `args`
// (argv without argv[0], cut before any `--`). Accepted forms, as absl's:
// --name=value, -name=value, --name value (not for bools), --bool,
// --nobool. It goes on past a bad flag, so `positional` is complete either
// way; only the first error is kept. Flags not in `known` are unknown even
// when registered (absl's own --flagfile, --fromenv: flaky has twins).
// Not thread-safe with other readers of those flags (call from main).
ParsedFlags ParseFlags(const std::vector<std::string>& args,
                       const std::vector<std::string>& known);

// FlagEnvironmentName is the environment twin of a flag:
// "until_decided" -> "FLAKY_UNTIL_DECIDED".
std::string FlagEnvironmentName(absl::string_view flag);

// FlagsDefinedIn returns the names of the registered absl flags whose
// definition is in a file whose path ends with `file_suffix`, sorted.
std::vector<std::string> FlagsDefinedIn(absl::string_view file_suffix);

// ApplyEnvironmentTwins sets each registered absl flag named in `flags`
// from its FLAKY_<FLAG> variable (read with `getenv`) when that is set.
// Call it before ParseFlags so the command line wins. InvalidArgument
// naming the variable for a value the flag rejects; NotFound for a name
// that is not a registered flag (programmer error).
absl::Status ApplyEnvironmentTwins(
    const std::vector<std::string>& flags,
    const std::function<const char*(const char*)>& getenv);

// FlagsHelp lists the flags named in `flags`: each as --name=DEFAULT with
// its help text indented below, for `--help`.
std::string FlagsHelp(const std::vector<std::string>& flags);

}  // namespace flaky::cli

#endif  // FLAKY_CLI_FLAGS_H_
