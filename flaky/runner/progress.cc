#include "flaky/runner/progress.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"

namespace flaky::runner {

std::string FormatClock(absl::Duration duration) {
  int64_t seconds = absl::ToInt64Seconds(duration);
  if (seconds < 0) seconds = 0;
  if (seconds >= 3600) {
    return absl::StrFormat("%d:%02d:%02d", seconds / 3600, seconds / 60 % 60,
                           seconds % 60);
  }
  return absl::StrFormat("%d:%02d", seconds / 60, seconds % 60);
}

std::string FormatProgress(const ProgressSnapshot& snapshot) {
  std::string line = snapshot.profile;
  if (snapshot.runs_planned) {
    absl::StrAppend(&line, "  ", snapshot.runs_done, "/",
                    *snapshot.runs_planned, " runs");
  } else {
    absl::StrAppend(&line, "  ", snapshot.runs_done, " runs");
  }
  absl::StrAppend(&line, "  ", snapshot.failed_runs, " failed");
  if (snapshot.runs_done > 0) {
    absl::StrAppend(&line,
                    absl::StrFormat(" (%.1f%%)",
                                    100.0 * snapshot.failed_runs /
                                        snapshot.runs_done));
  }
  const double seconds = absl::ToDoubleSeconds(snapshot.elapsed);
  const double rate = seconds > 0 ? snapshot.runs_done / seconds : 0.0;
  if (rate > 0) absl::StrAppend(&line, absl::StrFormat("  %.1f runs/s", rate));
  absl::StrAppend(&line, "  ", FormatClock(snapshot.elapsed), " elapsed");
  if (snapshot.budget) {
    absl::StrAppend(&line, "  ETA ",
                    FormatClock(*snapshot.budget - snapshot.elapsed));
  } else if (snapshot.runs_planned && rate > 0) {
    const int64_t left = *snapshot.runs_planned - snapshot.runs_done;
    absl::StrAppend(&line, "  ETA ",
                    FormatClock(absl::Seconds(
                        left > 0 ? std::ceil(left / rate) : 0.0)));
  }
  return line;
}

ProgressPrinter::ProgressPrinter(std::ostream& out, bool tty, Clock& clock,
                                 absl::Duration log_interval)
    : out_(out), tty_(tty), clock_(clock), interval_(log_interval) {}

void ProgressPrinter::ClearLine() {
  if (tty_ && line_width_ > 0) {
    out_ << '\r' << std::string(line_width_, ' ') << '\r';
    line_width_ = 0;
  }
}

void ProgressPrinter::Update(const ProgressSnapshot& snapshot) {
  const absl::Time now = clock_.Now();
  const absl::Duration every = tty_ ? absl::Milliseconds(200) : interval_;
  if (last_update_ && now - *last_update_ < every) return;
  last_update_ = now;
  const std::string line = FormatProgress(snapshot);
  if (tty_) {
    ClearLine();
    out_ << line << std::flush;
    line_width_ = line.size();
  } else {
    out_ << "flaky: " << line << '\n' << std::flush;
  }
}

void ProgressPrinter::Message(const std::string& text) {
  ClearLine();
  out_ << text << '\n' << std::flush;
}

void ProgressPrinter::Finish(const ProgressSnapshot& snapshot) {
  ClearLine();
  out_ << "flaky: " << FormatProgress(snapshot) << '\n' << std::flush;
  last_update_ = clock_.Now();
}

RunProgress::RunProgress(std::ostream& out, bool tty, Clock& clock,
                         absl::Duration log_interval)
    : printer_(out, tty, clock, log_interval), clock_(clock), started_(clock.Now()) {}

void RunProgress::Begin(std::optional<int64_t> runs_planned,
                        std::optional<absl::Duration> budget) {
  started_ = clock_.Now();
  snapshot_.runs_planned = runs_planned;
  snapshot_.budget = budget;
}

void RunProgress::SetProfile(const std::string& profile) { snapshot_.profile = profile; }

absl::Status RunProgress::Accept(absl::Span<const results::Trial> run) {
  ++snapshot_.runs_done;
  if (std::any_of(run.begin(), run.end(), [](const results::Trial& trial) {
        return results::IsFailure(trial.outcome);
      })) {
    ++snapshot_.failed_runs;
  }
  printer_.Update(Now());
  return absl::OkStatus();
}

void RunProgress::Refresh() { printer_.Update(Now()); }

void RunProgress::Message(const std::string& text) { printer_.Message(text); }

void RunProgress::Finish() { printer_.Finish(Now()); }

ProgressSnapshot RunProgress::Now() const {
  ProgressSnapshot snapshot = snapshot_;
  snapshot.elapsed = clock_.Now() - started_;
  return snapshot;
}

}  // namespace flaky::runner
