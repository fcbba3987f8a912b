#include "flaky/results/gtest_log.h"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace flaky::results {
namespace {

constexpr absl::string_view kRun = "[ RUN      ] ";
constexpr absl::string_view kOk = "[       OK ] ";
constexpr absl::string_view kFailed = "[  FAILED  ] ";
constexpr absl::string_view kSkipped = "[  SKIPPED ] ";
constexpr absl::string_view kRepeat = "Repeating all tests (iteration ";
constexpr absl::string_view kTimedOut = "-- Test timed out at ";

// How many output lines of a case that died without a verdict are kept.
constexpr size_t kCrashContextLines = 5;

// CaseName extracts "Suite.Name" from the text after a verdict tag:
// "Suite.Name (3 ms)" or "P/Suite.Name/0, where GetParam() = 4 (0 ms)".
absl::string_view CaseName(absl::string_view rest) {
  size_t end = rest.find(", where ");
  if (end == absl::string_view::npos) end = rest.find(" (");
  if (end == absl::string_view::npos) end = rest.size();
  return absl::StripAsciiWhitespace(rest.substr(0, end));
}

// Milliseconds from "... (12 ms)"; zero when absent.
absl::Duration CaseDuration(absl::string_view rest) {
  const size_t open = rest.rfind(" (");
  if (open == absl::string_view::npos || !absl::EndsWith(rest, " ms)")) {
    return absl::ZeroDuration();
  }
  absl::string_view digits =
      rest.substr(open + 2, rest.size() - 4 - (open + 2));
  int64_t ms = 0;
  if (!absl::SimpleAtoi(digits, &ms) || ms < 0) return absl::ZeroDuration();
  return absl::Milliseconds(ms);
}

// FailureMessage picks a failure's text out of a case's output: from the
// first "file:line: Failure" on, with ": Failure" dropped so it matches
// the message test.xml carries; the whole output when no such line exists.
std::string FailureMessage(const std::vector<absl::string_view>& output) {
  size_t first = output.size();
  for (size_t i = 0; i < output.size(); ++i) {
    if (absl::EndsWith(output[i], ": Failure")) {
      first = i;
      break;
    }
  }
  std::vector<std::string> lines;
  if (first == output.size()) {
    for (absl::string_view line : output) lines.emplace_back(line);
  } else {
    for (size_t i = first; i < output.size(); ++i) {
      absl::string_view line = output[i];
      if (i == first) line.remove_suffix(std::strlen(": Failure"));
      lines.emplace_back(line);
    }
  }
  while (!lines.empty() && absl::StripAsciiWhitespace(lines.back()).empty()) {
    lines.pop_back();
  }
  return absl::StrJoin(lines, "\n");
}

std::string NoVerdictMessage(const std::vector<absl::string_view>& output,
                             absl::string_view why) {
  std::vector<absl::string_view> tail;
  for (auto it = output.rbegin();
       it != output.rend() && tail.size() < kCrashContextLines; ++it) {
    if (!absl::StripAsciiWhitespace(*it).empty()) tail.insert(tail.begin(), *it);
  }
  if (tail.empty()) return std::string(why);
  return absl::StrCat(why, "; last output:\n", absl::StrJoin(tail, "\n"));
}

}  // namespace

GtestLog ParseGtestLog(absl::string_view log) {
  GtestLog result;
  int iteration = 0;
  std::optional<std::string> running;  // the case started and not finished
  std::vector<absl::string_view> output;

  auto close_without_verdict = [&](Outcome outcome, absl::string_view why) {
    if (!running.has_value()) return;
    GtestLogCase c;
    c.iteration = iteration;
    c.test_case = *std::move(running);
    c.outcome = outcome;
    c.failure_message = NoVerdictMessage(output, why);
    result.cases.push_back(std::move(c));
    running.reset();
    output.clear();
  };

  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (absl::StartsWith(line, kRepeat)) {
      close_without_verdict(Outcome::kCrashed,
                            "no verdict before the next iteration");
      absl::string_view rest = line.substr(kRepeat.size());
      int number = 0;
      if (absl::SimpleAtoi(rest.substr(0, rest.find(')')), &number) &&
          number > 0) {
        iteration = number;
      } else {
        ++iteration;
      }
      ++result.iterations;
      continue;
    }
    if (absl::StartsWith(line, kRun)) {
      close_without_verdict(Outcome::kCrashed,
                            "no verdict before the next test case started");
      running = std::string(CaseName(line.substr(kRun.size())));
      output.clear();
      continue;
    }
    if (absl::StartsWith(line, kTimedOut)) {
      close_without_verdict(Outcome::kTimeout,
                            absl::StrCat("Bazel's timeout killed the test (",
                                         absl::StripAsciiWhitespace(line), ")"));
      continue;
    }
    std::optional<Outcome> verdict;
    absl::string_view rest;
    if (absl::StartsWith(line, kOk)) {
      verdict = Outcome::kPass;
      rest = line.substr(kOk.size());
    } else if (absl::StartsWith(line, kFailed)) {
      verdict = Outcome::kFail;
      rest = line.substr(kFailed.size());
    } else if (absl::StartsWith(line, kSkipped)) {
      verdict = Outcome::kSkipped;
      rest = line.substr(kSkipped.size());
    }
    // A verdict for another case than the running one is part of a summary
    // list ("[  FAILED  ] Suite.Name" after the run), not a result.
    if (verdict.has_value() && running.has_value() &&
        CaseName(rest) == *running) {
      GtestLogCase c;
      c.iteration = iteration;
      c.test_case = *std::move(running);
      c.outcome = *verdict;
      c.duration = CaseDuration(rest);
      if (*verdict == Outcome::kFail) c.failure_message = FailureMessage(output);
      result.cases.push_back(std::move(c));
      running.reset();
      output.clear();
      continue;
    }
    if (running.has_value()) output.push_back(line);
  }
  close_without_verdict(Outcome::kCrashed,
                        "test.log ends before the test case's verdict (the "
                        "process died)");
  return result;
}

absl::StatusOr<GtestLog> ReadGtestLog(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int error = errno;
    if (error == ENOENT) {
      return absl::NotFoundError(
          absl::StrCat("test.log ", path, " does not exist"));
    }
    return absl::UnavailableError(
        absl::StrCat("cannot open ", path, ": ", std::strerror(error)));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return absl::UnavailableError(absl::StrCat("cannot read ", path));
  return ParseGtestLog(buffer.str());
}

}  // namespace flaky::results
