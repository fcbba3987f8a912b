// probe: a tiny test stand-in that checks from the inside that the starve
// wrapper applied the profile it announced in FLAKY_STARVE_PROFILE.
//
//   starve --profile=taskset:0+hogs:1 -- probe            # exit 0 if applied
//   starve --profile=none -- probe --exit_code=3          # exits 3
//   starve --profile=none -- probe --kill_self=10         # dies of SIGUSR1
//   starve --profile=hogs:1 -- probe --wait               # "ready PID", blocks
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "flaky/starve/profile.h"
#include "tests/starve/probe.h"

ABSL_FLAG(int, exit_code, -1, "exit with this status instead of checking");
ABSL_FLAG(int, kill_self, 0, "die of this signal instead of checking");
ABSL_FLAG(bool, wait, false,
          "print \"ready PID\" on stdout, then block until killed");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  if (absl::GetFlag(FLAGS_exit_code) >= 0) return absl::GetFlag(FLAGS_exit_code);
  if (absl::GetFlag(FLAGS_kill_self) > 0) {
    raise(absl::GetFlag(FLAGS_kill_self));
    return 99;
  }
  if (absl::GetFlag(FLAGS_wait)) {
    std::printf("ready %d\n", static_cast<int>(getpid()));
    std::fflush(stdout);
    while (true) pause();
  }
  const char* announced = std::getenv("FLAKY_STARVE_PROFILE");
  if (announced == nullptr) {
    std::fprintf(stderr, "probe: FLAKY_STARVE_PROFILE is not set; run me "
                         "under //flaky/starve:starve\n");
    return 2;
  }
  absl::StatusOr<flaky::starve::Profile> profile =
      flaky::starve::ParseProfile(announced);
  if (!profile.ok()) {
    std::fprintf(stderr, "probe: %s\n", profile.status().ToString().c_str());
    return 2;
  }
  absl::StatusOr<flaky::starve::probe::Observation> seen =
      flaky::starve::probe::Observe();
  if (!seen.ok()) {
    std::fprintf(stderr, "probe: %s\n", seen.status().ToString().c_str());
    return 2;
  }
  absl::Status applied =
      flaky::starve::probe::CheckProfileApplied(*profile, *seen);
  if (!applied.ok()) {
    std::fprintf(stderr, "probe: %s\n", std::string(applied.message()).c_str());
    return 1;
  }
  std::printf("probe: %s applied\n", announced);
  return 0;
}
