// The benchmark run behind ci/bench: runs each section of bench.md in
// order (options.h lists them), every process through processes.h, every
// hunt into one store (bench-out/bench.db, hunt ids SECTION.FAMILY.REP as
// tables.h reads them), and rewrites bench-out/bench.md after each section
// so a run cut short keeps what it measured. Numbers come from the store
// (tables.h, matrix.h) and from the tool's own clocks, never from flaky's
// console output, which only goes to bench-out/logs/.
//
//   Bench bench(options, paths, processes, machine);
//   absl::Status done = bench.Run();   // bench-out/bench.md, bench.db, logs/
//
// The argv builders and exit checks below are the pure parts, tested alone.
#ifndef FLAKY_BENCH_SECTIONS_H_
#define FLAKY_BENCH_SECTIONS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "bench/machine.h"
#include "bench/options.h"
#include "bench/processes.h"
#include "bench/tables.h"
#include "flaky/runner/launcher.h"
#include "flaky/stats/verdict.h"

namespace flaky::bench {

// Paths are where the tools bench runs are.
struct Paths {
  std::string workspace = "";  // the workspace root; bench runs there
  std::string bazel = "bazel";
  std::string bazel_bin = "";  // `bazel info bazel-bin`
};

// FlakyCommand is `flaky COMMAND --store=STORE --hunt_id=ID ARGS...`: our
// flags first, since flags after a `--` in `args` go to Bazel.
std::vector<std::string> FlakyCommand(const std::string& flaky,
                                      absl::string_view command,
                                      const std::string& store,
                                      const std::string& hunt_id,
                                      const std::vector<std::string>& args);

// CheckFlakyExit: OK when `status` is a result of `command` ("hunt": 0;
// "gate": 0 CLEAN, 1 FLAKY, 2 INCONCLUSIVE), else Internal naming the hunt,
// its exit and its log.
absl::Status CheckFlakyExit(absl::string_view command, absl::string_view hunt_id,
                            const runner::ExitStatus& status,
                            absl::string_view log_path);

// PeakResidentKiB reads "Maximum resident set size (kbytes): N" from GNU
// time's -v report; nullopt without it.
std::optional<long> PeakResidentKiB(absl::string_view time_report);

// FallbackProfile is the profile a fixed twin is verified under when no
// profile failed its original: the one meant to expose that race.
std::string FallbackProfile(absl::string_view target);

// ShortName: "//tests/race:already_running_original" ->
// "already_running_original".
std::string ShortName(absl::string_view label);

// Bench runs the sections. Not thread-safe.
class Bench {
 public:
  // `processes` must outlive this.
  Bench(Options options, Paths paths, Processes& processes, MachineInfo machine);

  // Run runs every section that is not skipped and writes bench.md.
  // Errors: Unavailable when the output cannot be written; Internal when a
  // command fails (naming it and its log); the store's errors.
  absl::Status Run();

 private:
  absl::Status Detection();
  absl::Status Verification();
  absl::Status Throughput();
  absl::Status Costs();
  absl::Status Calibration();
  absl::Status DirectDetection();
  absl::Status Matrix();

  // Flaky runs `flaky COMMAND` into the store as `hunt_id` and checks its
  // exit; its output goes to logs/HUNT_ID.log.
  absl::StatusOr<Finished> Flaky(absl::string_view command,
                                 const std::string& hunt_id,
                                 const std::vector<std::string>& args,
                                 const std::vector<std::string>& prefix = {});
  // Bazel runs `bazel ARGS...` with its stdout to logs/NAME.out and stderr
  // to logs/NAME.log; Internal unless it exits 0. Returns stdout, and the
  // wall time in `wall` when given.
  absl::StatusOr<std::string> Bazel(const std::string& name,
                                    const std::vector<std::string>& args,
                                    absl::Duration* wall = nullptr);
  absl::StatusOr<std::vector<BenchHunt>> Hunts();
  absl::StatusOr<BenchHunt> FindHunt(const std::string& hunt_id);
  // The best detection profile, or the fallback when none reached FLAKY.
  absl::StatusOr<std::string> Best();
  absl::Status Write();
  void Log(absl::string_view message);
  std::string LogPath(absl::string_view name) const;

  Options options_;
  Paths paths_;
  Processes& processes_;
  MachineInfo machine_;
  stats::GateOptions gate_;
  std::string out_;    // absolute
  std::string store_;  // absolute
  std::string flaky_;
  std::string started_;  // "2026-12-02 10:00 UTC"
  std::vector<std::string> sections_;  // markdown, in order
  std::optional<std::string> best_;
  std::string verify_time_report_;  // GNU time of the Bazel-mode gate
};

}  // namespace flaky::bench

#endif  // FLAKY_BENCH_SECTIONS_H_
