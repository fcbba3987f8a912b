// static_race: the model's two bpo-37224 race cases (tests/race), linked
// statically, so that the chaos shim cannot reach them and only a profile
// without LD_PRELOAD (sched:) can perturb them. For measurements:
//
//   starve --profile=sched:1 -- static_race [--fixed]
//
// Runs AlreadyRunning then StillRunning once each, with the original helper
// (no readiness check) or, with --fixed, the fixed one. Exits 1 and prints
// the failures when a case fails, 0 when both pass, 2 on bad usage.
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "tests/race/race_cases.h"

int main(int argc, char** argv) {
  using ::subinterp::race::Helper;
  const bool fixed = argc == 2 && std::strcmp(argv[1], "--fixed") == 0;
  if (argc > 2 || (argc == 2 && !fixed)) {
    std::fprintf(stderr, "usage: static_race [--fixed]\n");
    return 2;
  }
  const Helper helper = fixed ? Helper::kFixed : Helper::kOriginal;
  int failed = 0;
  for (const char* name : {"already_running", "still_running"}) {
    auto runtime = ::subinterp::race::NewRuntimeFromEnvironment();
    if (!runtime.ok()) {
      std::fprintf(stderr, "%s\n", std::string(runtime.status().message()).c_str());
      return 2;
    }
    const ::subinterp::race::CaseReport report =
        std::strcmp(name, "already_running") == 0
            ? ::subinterp::race::RunAlreadyRunning(**runtime, helper)
            : ::subinterp::race::RunStillRunning(**runtime, helper);
    for (const std::string& failure : report.failures) {
      std::fprintf(stderr, "%s: %s\n", name, failure.c_str());
    }
    failed += !report.passed();
  }
  std::printf("cases=2 failed=%d\n", failed);
  return failed > 0 ? 1 : 0;
}
