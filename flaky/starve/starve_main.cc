// starve: runs a test under a starvation profile, as Bazel's --run_under.
//
//   bazel test --run_under='//flaky/starve:starve --profile=taskset:0+hogs:1 --'
//       --strategy=TestRunner=processwrapper-sandbox //pkg:test
//   starve --profile=cgroup:20 [--cgroup_parent=DIR] [--allow_fallback]
//       [--record_file=F] [--run_offset=N] [--supervise] -- /path/to/test args...
//
// Exits with the test's status (re-raising the signal that killed it), or
// 125/126/127 with one `flaky-starve: error:` line (see exit_codes.h). For
// none, taskset and env the process becomes the test (exec in place; see
// wrapper.h), so its status is the test's by construction.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "flaky/starve/exit_codes.h"
#include "flaky/starve/profile.h"
#include "flaky/starve/wrapper.h"

ABSL_FLAG(std::string, profile, "",
          "starvation profile, e.g. none, taskset:0+hogs:2, cgroup:20, "
          "chaos:7 (env twin: FLAKY_STARVE_PROFILE_FLAG)");
ABSL_FLAG(std::string, cgroup_parent, "",
          "parent of the per-run cgroup: a path in the cpu hierarchy, "
          "absolute or relative to its mount (default: flaky)");
ABSL_FLAG(bool, allow_fallback, false,
          "run without the profile parts that cannot be applied (recorded "
          "as not_applied) instead of exiting 125");
ABSL_FLAG(int64_t, run_offset, 0,
          "added to Bazel's run number (TEST_RANDOM_SEED) before the chaos "
          "seed is derived from it; hunts pass the runs of earlier rounds");
ABSL_FLAG(bool, supervise, false,
          "stay the test's parent even where the profile needs no "
          "supervisor (none, taskset, env), so that whatever the test "
          "leaves running is killed when it ends");
ABSL_FLAG(std::string, record_file, "",
          "where to write the record JSON (default: "
          "$TEST_UNDECLARED_OUTPUTS_DIR/flaky_starve.json when set)");

namespace {

constexpr absl::string_view kFlagNames[] = {
    "profile",    "cgroup_parent", "allow_fallback", "record_file",
    "noallow_fallback", "run_offset", "supervise", "nosupervise"};

[[noreturn]] void Fail(int code, absl::string_view message) {
  std::cerr << flaky::starve::kErrorPrefix << message << std::endl;
  std::exit(code);
}

// IsOwnFlag is true for the wrapper's flags and absl's help flags. Checking
// before absl parses matters: absl exits 1 on an unknown flag, which Bazel
// would count as a failed test.
bool IsOwnFlag(absl::string_view arg) {
  if (!absl::StartsWith(arg, "-")) return false;
  absl::string_view name = arg.substr(absl::StartsWith(arg, "--") ? 2 : 1);
  name = name.substr(0, name.find('='));
  for (absl::string_view known : kFlagNames) {
    if (name == known) return true;
  }
  return name == "help" || name == "helpfull";
}

// ExitLikeTest ends the wrapper the way the test ended.
[[noreturn]] void ExitLikeTest(const flaky::ExitStatus& status) {
  if (status.signal == 0) std::exit(status.code);
  const int sig = status.signal;
  // The test already dumped core if it was going to; the wrapper must not
  // add a second one.
  struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  signal(sig, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  sigprocmask(SIG_UNBLOCK, &set, nullptr);
  raise(sig);
  std::exit(status.ShellCode());
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "starve --profile=PROFILE [--cgroup_parent=DIR] [--allow_fallback] "
      "[--run_offset=N] [--supervise] -- "
      "TEST [ARGS...]");
  // Split at `--`, or at the first argument that is not ours (Bazel appends
  // the test path right after the --run_under string).
  std::vector<char*> own = {argv[0]};
  int i = 1;
  for (; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (!absl::StartsWith(arg, "-")) break;
    if (!IsOwnFlag(arg)) {
      Fail(flaky::starve::kExitProfileNotApplied,
           absl::StrCat("unknown flag ", arg,
                        "; starve takes --profile, --cgroup_parent, "
                        "--allow_fallback, --record_file, --run_offset and "
                        "--supervise, then -- and the test command"));
    }
    own.push_back(argv[i]);
  }
  absl::ParseCommandLine(static_cast<int>(own.size()), own.data());

  flaky::starve::WrapperOptions options;
  std::string profile_text = absl::GetFlag(FLAGS_profile);
  if (profile_text.empty()) {
    const char* twin = std::getenv("FLAKY_STARVE_PROFILE_FLAG");
    if (twin != nullptr) profile_text = twin;
  }
  if (profile_text.empty()) {
    Fail(flaky::starve::kExitProfileNotApplied,
         "no --profile given; pass e.g. --profile=none or "
         "--profile=taskset:0+hogs:1");
  }
  absl::StatusOr<flaky::starve::Profile> profile =
      flaky::starve::ParseProfile(profile_text);
  if (!profile.ok()) {
    Fail(flaky::starve::kExitProfileNotApplied,
         absl::StrCat("bad --profile: ", profile.status().message()));
  }
  options.profile = *std::move(profile);
  options.cgroup_parent = absl::GetFlag(FLAGS_cgroup_parent);
  options.allow_fallback = absl::GetFlag(FLAGS_allow_fallback);
  options.record_file = absl::GetFlag(FLAGS_record_file);
  options.supervise = absl::GetFlag(FLAGS_supervise);
  options.run_offset = absl::GetFlag(FLAGS_run_offset);
  if (options.run_offset < 0) {
    Fail(flaky::starve::kExitProfileNotApplied,
         absl::StrCat("bad --run_offset=", options.run_offset,
                      ": must not be negative"));
  }
  options.command.assign(argv + i, argv + argc);

  absl::StatusOr<flaky::ExitStatus> wait_status =
      flaky::starve::RunUnderProfile(options, std::cerr);
  if (!wait_status.ok()) {
    bool not_found = false;
    int code = flaky::starve::kExitProfileNotApplied;
    if (flaky::starve::ExecFailed(wait_status.status(), &not_found)) {
      code = not_found ? flaky::starve::kExitCommandNotFound
                       : flaky::starve::kExitCannotExecute;
    }
    Fail(code, wait_status.status().message());
  }
  ExitLikeTest(*wait_status);
}
