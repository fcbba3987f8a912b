#include "flaky/results/trial.h"

#include <optional>

#include "absl/strings/string_view.h"

namespace flaky::results {

absl::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kPass:
      return "pass";
    case Outcome::kFail:
      return "fail";
    case Outcome::kError:
      return "error";
    case Outcome::kSkipped:
      return "skipped";
    case Outcome::kTimeout:
      return "timeout";
    case Outcome::kCrashed:
      return "crashed";
  }
  return "error";
}

std::optional<Outcome> ParseOutcome(absl::string_view name) {
  for (Outcome outcome : {Outcome::kPass, Outcome::kFail, Outcome::kError,
                          Outcome::kSkipped, Outcome::kTimeout,
                          Outcome::kCrashed}) {
    if (OutcomeName(outcome) == name) return outcome;
  }
  return std::nullopt;
}

bool IsFailure(Outcome outcome) {
  return outcome != Outcome::kPass && outcome != Outcome::kSkipped;
}

}  // namespace flaky::results
