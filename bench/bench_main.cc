// bench: the benchmarks of BENCHMARKS.md in one run (ci/bench builds it and
// runs it from the workspace root). Writes OUT/bench.md, OUT/bench.db and
// OUT/logs/; see sections.h for what each section measures.
//
//   bench --bazel_bin="$(bazel info bazel-bin)" [--quick] [--reps=N]
//       [--cap=N] [--skip=SECTION,...] [--out=bench-out]
//
// Every flag has a BENCH_<FLAG> environment twin (the flag wins). Exits 0
// when every section ran, 2 for a bad flag, 1 with one line on stderr for
// any other error.
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "bench/machine.h"
#include "bench/options.h"
#include "bench/processes.h"
#include "bench/sections.h"
#include "flaky/runner/clock.h"
#include "flaky/runner/launcher.h"

ABSL_FLAG(bool, quick, false, "a smoke run: every section, few runs, numbers meaningless");
ABSL_FLAG(int, reps, 0, "independent hunts per detection profile (0: 5, or 2 with --quick)");
ABSL_FLAG(int, cap, 0, "most runs per target in one detection hunt (0: 60, or 20 with --quick)");
ABSL_FLAG(std::string, skip, "",
          "comma-separated sections to leave out: detection, verification, "
          "throughput, costs, calibration, direct, matrix; foreign: the matrix "
          "without bench/foreign's targets");
ABSL_FLAG(std::string, out, "bench-out", "where bench.md, bench.db and logs/ go");
ABSL_FLAG(std::string, bazel, "bazel", "the Bazel to run");
ABSL_FLAG(std::string, bazel_bin, "", "`bazel info bazel-bin` of the workspace (required)");
ABSL_FLAG(std::string, command_line, "",
          "the command line bench.md shows (default: this program's)");

namespace {

// SetFromEnvironment gives every flag its BENCH_<FLAG> twin's value; the
// command line, parsed after, wins.
void SetFromEnvironment(const char* program) {
  for (const char* name : {"quick", "reps", "cap", "skip", "out", "bazel",
                           "bazel_bin", "command_line"}) {
    const char* value =
        std::getenv(absl::StrCat("BENCH_", absl::AsciiStrToUpper(name)).c_str());
    if (value == nullptr) continue;
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      std::cerr << program << ": BENCH_" << absl::AsciiStrToUpper(name) << "="
                << value << ": " << error << "\n";
      std::exit(2);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "bench --bazel_bin=DIR [--quick] [--reps=N] [--cap=N] [--skip=SECTION,...] "
      "[--out=bench-out]");
  SetFromEnvironment("bench");
  std::vector<char*> rest = absl::ParseCommandLine(argc, argv);
  if (rest.size() > 1) {
    std::cerr << "bench: unexpected argument " << rest[1] << "\n";
    return 2;
  }
  absl::StatusOr<flaky::bench::Options> options =
      flaky::bench::MakeOptions({.quick = absl::GetFlag(FLAGS_quick),
                                 .reps = absl::GetFlag(FLAGS_reps),
                                 .cap = absl::GetFlag(FLAGS_cap),
                                 .skip = absl::GetFlag(FLAGS_skip),
                                 .out = absl::GetFlag(FLAGS_out)});
  if (!options.ok()) {
    std::cerr << "bench: " << options.status().message() << "\n";
    return 2;
  }
  if (absl::GetFlag(FLAGS_bazel_bin).empty()) {
    std::cerr << "bench: --bazel_bin is required (ci/bench passes `bazel info bazel-bin`)\n";
    return 2;
  }
  flaky::runner::PosixLauncher launcher;
  flaky::runner::RealClock clock;
  flaky::bench::Processes processes(launcher, clock);
  const std::string bazel = absl::GetFlag(FLAGS_bazel);

  flaky::bench::MachineInfo machine = flaky::bench::ReadMachineInfo("/");
  absl::StatusOr<std::string> debian = processes.Output(
      {"dpkg-query", "-W", "-f=Debian bazel-bootstrap ${Version}", "bazel-bootstrap"});
  machine.bazel = debian.ok() ? *debian : processes.Output({bazel, "--version"}).value_or("");
  machine.commit = processes.Output({"git", "rev-parse", "--short", "HEAD"}).value_or("");
  machine.uncommitted_changes = !processes.Output({"git", "diff", "--quiet", "HEAD"}).ok();
  machine.command_line = absl::GetFlag(FLAGS_command_line);
  if (machine.command_line.empty()) {
    machine.command_line = absl::StrJoin(argv, argv + argc, " ");
  }

  flaky::bench::Bench bench(*options,
                            {.workspace = std::filesystem::current_path().string(),
                             .bazel = bazel,
                             .bazel_bin = absl::GetFlag(FLAGS_bazel_bin)},
                            processes, machine);
  absl::Status status = bench.Run();
  if (!status.ok()) {
    std::cerr << "bench: " << status.message() << "\n";
    return 1;
  }
  return 0;
}
