// Progress of a hunt on the console: one line rewritten in place on a
// terminal, sparse full lines otherwise (a CI log gets a line every
// `log_interval`, not one per run).
//
//   ProgressPrinter progress(std::cerr, /*tty=*/isatty(2), clock);
//   progress.Update({.profile = "hogs:2", .runs_done = 120,
//                    .runs_planned = 500, .failed_runs = 3,
//                    .elapsed = absl::Seconds(5)});
//   // hogs:2  120/500 runs  3 failed (2.5%)  24.0 runs/s  0:05 elapsed  ETA 0:16
//
// During a hunt, RunProgress is the trial stream's progress sink: it counts
// the runs it is handed and keeps the line current.
//
//   RunProgress progress(std::cerr, /*tty=*/isatty(2), clock);
//   progress.Begin(/*runs_planned=*/500, /*budget=*/std::nullopt);
//   progress.SetProfile("hogs:2");
//   progress.Accept(trials_of_one_run);  // counts the run, shows the line
//   progress.Finish();
#ifndef FLAKY_RUNNER_PROGRESS_H_
#define FLAKY_RUNNER_PROGRESS_H_

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "flaky/results/trial.h"
#include "flaky/results/trial_sink.h"
#include "flaky/runner/clock.h"

namespace flaky::runner {

// ProgressSnapshot is where a hunt stands. Counts are over the whole hunt.
struct ProgressSnapshot {
  std::string profile;  // the profile running now
  int64_t runs_done = 0;
  // runs_planned is the hunt's total when known (--runs); nullopt for
  // --budget and --until_decided.
  std::optional<int64_t> runs_planned = std::nullopt;
  int64_t failed_runs = 0;  // runs with at least one failing trial
  absl::Duration elapsed = absl::ZeroDuration();
  // budget bounds the hunt's time (--budget), for the ETA.
  std::optional<absl::Duration> budget = std::nullopt;
};

// FormatClock renders a duration as M:SS, or H:MM:SS from an hour on
// (negative durations as 0:00).
std::string FormatClock(absl::Duration duration);

// FormatProgress renders `snapshot` as one line without a newline:
// profile, runs (of planned), failed runs with their share, rate, elapsed
// time and, when it can be estimated, the ETA.
std::string FormatProgress(const ProgressSnapshot& snapshot);

// ProgressPrinter writes progress to a console. Not thread-safe.
class ProgressPrinter {
 public:
  // ProgressPrinter writes to `out`; `tty` selects in-place updates
  // (at most every 200 ms) over full lines (at most every `log_interval`).
  ProgressPrinter(std::ostream& out, bool tty, Clock& clock,
                  absl::Duration log_interval = absl::Seconds(30));

  // Update shows `snapshot` if the last update is old enough.
  void Update(const ProgressSnapshot& snapshot);

  // Message prints `text` as its own line (clearing an in-place line).
  void Message(const std::string& text);

  // Finish prints `snapshot` as a final full line, always.
  void Finish(const ProgressSnapshot& snapshot);

 private:
  void ClearLine();

  std::ostream& out_;
  bool tty_;
  Clock& clock_;
  absl::Duration interval_;
  std::optional<absl::Time> last_update_;
  size_t line_width_ = 0;  // characters of the in-place line on screen
};

// RunProgress counts a hunt's runs as the trial stream hands them over (a
// run fails when one of its trials does) and shows them with a
// ProgressPrinter. Not thread-safe: the runner's thread only.
class RunProgress : public results::TrialSink {
 public:
  // RunProgress writes to `out` as ProgressPrinter does.
  RunProgress(std::ostream& out, bool tty, Clock& clock,
              absl::Duration log_interval = absl::Seconds(30));

  // Begin starts the hunt's clock (run time, not build time) and says what
  // the ETA is measured against: the runs planned, or the budget.
  void Begin(std::optional<int64_t> runs_planned,
             std::optional<absl::Duration> budget);

  // SetProfile names the profile whose round runs now.
  void SetProfile(const std::string& profile);

  // Accept counts one finished run and shows the line when it is due.
  absl::Status Accept(absl::Span<const results::Trial> run) override;

  // Refresh shows the line when it is due, runs or not (time moves on).
  void Refresh();

  // Message prints `text` as its own line.
  void Message(const std::string& text);

  // Finish prints the final line.
  void Finish();

 private:
  ProgressSnapshot Now() const;

  ProgressPrinter printer_;
  Clock& clock_;
  absl::Time started_;
  ProgressSnapshot snapshot_;
};

}  // namespace flaky::runner

#endif  // FLAKY_RUNNER_PROGRESS_H_
