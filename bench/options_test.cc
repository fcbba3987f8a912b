#include "bench/options.h"

#include "base/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::bench {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::StatusIs;
using ::testing::HasSubstr;

TEST(MakeOptions, DefaultsRunEverySectionAtFullSize) {
  absl::StatusOr<Options> options = MakeOptions({});
  ASSERT_THAT(options.status(), IsOk());
  for (Section section : kAllSections) EXPECT_TRUE(options->Runs(section));
  EXPECT_FALSE(options->skip_foreign);
  EXPECT_EQ(options->sizes.reps, 5);
  EXPECT_EQ(options->sizes.throughput_runs, 200);
  EXPECT_EQ(options->sizes.fixed_runs, 300);
  EXPECT_EQ(options->out, "bench-out");
}

TEST(MakeOptions, QuickShrinksAndFlagsOverrideIt) {
  absl::StatusOr<Options> options =
      MakeOptions({.quick = true, .reps = 3, .cap = 7});
  ASSERT_THAT(options.status(), IsOk());
  EXPECT_TRUE(options->quick);
  EXPECT_EQ(options->sizes.reps, 3);
  EXPECT_EQ(options->sizes.cap, 7);
  EXPECT_EQ(options->sizes.throughput_runs, QuickSizes().throughput_runs);
  EXPECT_LT(QuickSizes().throughput_runs, Sizes{}.throughput_runs);
}

TEST(MakeOptions, SkipNamesSectionsAndForeign) {
  absl::StatusOr<Options> options =
      MakeOptions({.skip = "costs, direct,foreign"});
  ASSERT_THAT(options.status(), IsOk());
  EXPECT_FALSE(options->Runs(Section::kCosts));
  EXPECT_FALSE(options->Runs(Section::kDirectDetection));
  EXPECT_TRUE(options->Runs(Section::kMatrix));
  EXPECT_TRUE(options->skip_foreign);
}

TEST(MakeOptions, RejectsUnknownSection) {
  EXPECT_THAT(MakeOptions({.skip = "detection,throughputs"}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unknown section 'throughputs' (sections: "
                                 "detection, verification")));
}

TEST(MakeOptions, RejectsBadSizes) {
  EXPECT_THAT(MakeOptions({.reps = -1}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "--reps=-1 must be at least 1"));
  EXPECT_THAT(MakeOptions({.cap = -2}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "--cap=-2 must be at least 1"));
  EXPECT_THAT(MakeOptions({.out = ""}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "--out is empty"));
}

TEST(SectionName, EverySectionHasItsOwn) {
  std::set<std::string> names;
  for (Section section : kAllSections) {
    names.insert(std::string(SectionName(section)));
  }
  EXPECT_EQ(names.size(), std::size(kAllSections));
  EXPECT_EQ(SectionTitle(Section::kMatrix), "7. Foreign and model races x profiles");
}

}  // namespace
}  // namespace flaky::bench
