// Every process bench starts, through flaky's launcher (runner/launcher.h)
// and nothing else: a command run to completion with its output in a log
// file and its wall time, a command's captured stdout, and the tight loop
// (a binary fork/exec'd again and again, one loop per core) that
// throughput compares flaky against.
//
//   runner::PosixLauncher launcher;
//   runner::RealClock clock;
//   Processes processes(launcher, clock);
//   absl::StatusOr<Finished> hunt =
//       processes.RunLogged({"flaky", "hunt", ...}, "bench-out/logs/x.log");
//   absl::StatusOr<absl::Duration> loop =
//       processes.TightLoop("bazel-bin/bench/trivial_test", 500, 2);
#ifndef FLAKY_BENCH_PROCESSES_H_
#define FLAKY_BENCH_PROCESSES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "flaky/runner/clock.h"
#include "flaky/runner/launcher.h"

namespace flaky::bench {

// Finished is a command that ran to its end.
struct Finished {
  runner::ExitStatus status;
  absl::Duration wall = absl::ZeroDuration();
};

// Processes starts commands. Thread-compatible: TightLoop is the only
// method that starts several at once, from threads of its own.
class Processes {
 public:
  // `launcher` and `clock` must outlive this.
  Processes(runner::Launcher& launcher, runner::Clock& clock)
      : launcher_(launcher), clock_(clock) {}

  // RunLogged runs `argv` with stdout and stderr to `log_path` (stderr to
  // `stderr_path` instead when that is not empty) and waits.
  // Any exit is a result; errors are the launcher's (NotFound when argv[0]
  // cannot be executed, Unavailable when the log cannot be written).
  absl::StatusOr<Finished> RunLogged(const std::vector<std::string>& argv,
                                     const std::string& log_path,
                                     const std::string& stderr_path = "");

  // Output runs `argv` and returns its stdout without the trailing newline.
  // Internal naming the command, its exit and the end of its stderr when it
  // does not exit 0.
  absl::StatusOr<std::string> Output(const std::vector<std::string>& argv);

  // TightLoop starts `loops` threads that each run `binary` `runs` times in
  // a row (stdout and stderr to /dev/null, a fresh process per run) and
  // returns the wall time until the last ended. Internal naming the first
  // run that did not exit 0; InvalidArgument for runs or loops below 1.
  absl::StatusOr<absl::Duration> TightLoop(
      const std::string& binary, int runs, int loops,
      const std::vector<std::string>& args = {});

 private:
  runner::Launcher& launcher_;
  runner::Clock& clock_;
};

}  // namespace flaky::bench

#endif  // FLAKY_BENCH_PROCESSES_H_
