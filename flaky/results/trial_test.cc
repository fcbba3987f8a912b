#include "flaky/results/trial.h"

#include "gtest/gtest.h"

namespace flaky::results {
namespace {

TEST(Outcome, NamesRoundTrip) {
  for (Outcome outcome : {Outcome::kPass, Outcome::kFail, Outcome::kError,
                          Outcome::kSkipped, Outcome::kTimeout,
                          Outcome::kCrashed}) {
    EXPECT_EQ(ParseOutcome(OutcomeName(outcome)), outcome);
  }
  EXPECT_EQ(ParseOutcome("FAILED"), std::nullopt);
  EXPECT_EQ(ParseOutcome(""), std::nullopt);
}

TEST(Outcome, OnlyPassAndSkippedAreNotFailures) {
  EXPECT_FALSE(IsFailure(Outcome::kPass));
  EXPECT_FALSE(IsFailure(Outcome::kSkipped));
  EXPECT_TRUE(IsFailure(Outcome::kFail));
  EXPECT_TRUE(IsFailure(Outcome::kError));
  EXPECT_TRUE(IsFailure(Outcome::kTimeout));
  EXPECT_TRUE(IsFailure(Outcome::kCrashed));
}

}  // namespace
}  // namespace flaky::results
