#include "bench/processes.h"

#include <memory>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "base/status_macros.h"

namespace flaky::bench {

absl::StatusOr<Finished> Processes::RunLogged(
    const std::vector<std::string>& argv, const std::string& log_path,
    const std::string& stderr_path) {
  const absl::Time start = clock_.Now();
  FLAKY_ASSIGN_OR_RETURN(
      std::unique_ptr<runner::Process> process,
      launcher_.Start(
          {.argv = argv, .stdout_path = log_path, .stderr_path = stderr_path.empty() ? log_path : stderr_path}));
  Finished finished;
  finished.status = process->Wait();
  finished.wall = clock_.Now() - start;
  return finished;
}

absl::StatusOr<std::string> Processes::Output(
    const std::vector<std::string>& argv) {
  FLAKY_ASSIGN_OR_RETURN(runner::CommandResult result,
                         launcher_.Run({.argv = argv}));
  if (!result.status.Exited(0)) {
    absl::string_view err = result.stderr_text;
    if (err.size() > 300) err = err.substr(err.size() - 300);
    return absl::InternalError(absl::StrCat(
        "`", absl::StrJoin(argv, " "), "` ended with ",
        result.status.ToString(), ": ", absl::StripAsciiWhitespace(err)));
  }
  return std::string(absl::StripTrailingAsciiWhitespace(result.stdout_text));
}

absl::StatusOr<absl::Duration> Processes::TightLoop(
    const std::string& binary, int runs, int loops,
    const std::vector<std::string>& args) {
  if (runs < 1 || loops < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tight loop: runs (", runs, ") and loops (", loops,
        ") must be at least 1"));
  }
  std::vector<std::string> argv = {binary};
  argv.insert(argv.end(), args.begin(), args.end());
  std::mutex mutex;
  absl::Status first_error;
  const absl::Time start = clock_.Now();
  std::vector<std::thread> threads;
  for (int loop = 0; loop < loops; ++loop) {
    threads.emplace_back([&] {
      for (int run = 1; run <= runs; ++run) {
        absl::StatusOr<std::unique_ptr<runner::Process>> process =
            launcher_.Start({.argv = argv,
                             .stdout_path = "/dev/null",
                             .stderr_path = "/dev/null"});
        absl::Status status = process.status();
        if (status.ok()) {
          runner::ExitStatus exit = (*process)->Wait();
          if (!exit.Exited(0)) {
            status = absl::InternalError(absl::StrCat(
                "tight loop: run ", run, " of ", binary, " ended with ",
                exit.ToString()));
          }
        }
        if (!status.ok()) {
          std::lock_guard<std::mutex> lock(mutex);
          if (first_error.ok()) first_error = status;
          return;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  FLAKY_RETURN_IF_ERROR(first_error);
  return clock_.Now() - start;
}

}  // namespace flaky::bench
