#include "flaky/starve/profile.h"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "base/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::starve {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::StartsWith;

TEST(ParseProfile, NoneIsEmpty) {
  absl::StatusOr<Profile> profile = ParseProfile("none");
  ASSERT_THAT(profile, IsOk());
  EXPECT_TRUE(profile->IsNone());
  EXPECT_EQ(profile->ToString(), "none");
}

TEST(ParseProfile, TasksetTakesListsAndRanges) {
  absl::StatusOr<Profile> profile = ParseProfile("taskset:3,0-1,1");
  ASSERT_THAT(profile, IsOk());
  EXPECT_THAT(profile->cpus, ElementsAre(0, 1, 3));
  EXPECT_EQ(profile->ToString(), "taskset:0-1,3");
}

TEST(ParseProfile, CgroupDefaultsPeriodToOneHundredMilliseconds) {
  absl::StatusOr<Profile> profile = ParseProfile("cgroup:20");
  ASSERT_THAT(profile, IsOk());
  ASSERT_TRUE(profile->cgroup.has_value());
  EXPECT_EQ(profile->cgroup->percent, 20);
  EXPECT_EQ(profile->cgroup->period_us, 100000);
  EXPECT_EQ(profile->cgroup->QuotaUs(), 20000);
  EXPECT_EQ(profile->ToString(), "cgroup:20");
}

TEST(ParseProfile, CgroupTakesAPeriod) {
  absl::StatusOr<Profile> profile = ParseProfile("cgroup:50/10000");
  ASSERT_THAT(profile, IsOk());
  EXPECT_EQ(profile->cgroup->QuotaUs(), 5000);
  EXPECT_EQ(profile->ToString(), "cgroup:50/10000");
}

TEST(ParseProfile, ChaosDefaultsAndOptions) {
  absl::StatusOr<Profile> plain = ParseProfile("chaos:7");
  ASSERT_THAT(plain, IsOk());
  EXPECT_EQ(plain->chaos, ChaosSpec{.seed = 7});
  EXPECT_EQ(plain->ToString(), "chaos:7");

  EXPECT_EQ(plain->chaos->stall_percent, 50);
  EXPECT_EQ(plain->chaos->burst, 4);
  EXPECT_EQ(plain->chaos->cap_percent, 10);

  absl::StatusOr<Profile> tuned = ParseProfile(
      "chaos:18446744073709551615,fixed,cap=50,ms=5-200,p=100,burst=0");
  ASSERT_THAT(tuned, IsOk());
  EXPECT_EQ(tuned->chaos->seed, UINT64_MAX);
  EXPECT_EQ(tuned->chaos->stall_percent, 100);
  EXPECT_EQ(tuned->chaos->min_ms, 5);
  EXPECT_EQ(tuned->chaos->max_ms, 200);
  EXPECT_EQ(tuned->chaos->cap_percent, 50);
  EXPECT_EQ(tuned->chaos->burst, 0);
  EXPECT_TRUE(tuned->chaos->fixed);
  EXPECT_EQ(tuned->ToString(),
            "chaos:18446744073709551615,p=100,ms=5-200,cap=50,burst=0,fixed");
}

// Profiles written before burst existed keep parsing; p=50 is now the
// default and drops out of the canonical form.
TEST(ParseProfile, OldChaosProfilesStillParse) {
  for (const char* text : {"chaos:1,p=50,ms=5-20", "chaos:5,p=20,ms=5-10,cap=30",
                           "chaos:3,p=5,ms=5-20,cap=50"}) {
    EXPECT_THAT(ParseProfile(text), IsOk()) << text;
  }
  EXPECT_EQ(ParseProfile("chaos:1,p=50,ms=5-20")->ToString(), "chaos:1");
}

TEST(ParseProfile, SchedDefaultsModesAndOptions) {
  absl::StatusOr<Profile> plain = ParseProfile("sched:7");
  ASSERT_THAT(plain, IsOk());
  ASSERT_TRUE(plain->sched.has_value());
  EXPECT_EQ(plain->sched, SchedSpec{.seed = 7});
  EXPECT_EQ(plain->sched->modes, SchedSpec::kCpu | SchedSpec::kIdle |
                                     SchedSpec::kNice | SchedSpec::kStall |
                                     SchedSpec::kNew);
  EXPECT_EQ(plain->sched->min_ms, 1);
  EXPECT_EQ(plain->sched->max_ms, 50);
  EXPECT_EQ(plain->ToString(), "sched:7");

  absl::StatusOr<Profile> tuned =
      ParseProfile("sched:9,fifo,fixed,ms=2-200,cpu");
  ASSERT_THAT(tuned, IsOk());
  EXPECT_EQ(tuned->sched->modes, SchedSpec::kCpu | SchedSpec::kFifo);
  EXPECT_EQ(tuned->sched->min_ms, 2);
  EXPECT_EQ(tuned->sched->max_ms, 200);
  EXPECT_TRUE(tuned->sched->fixed);
  EXPECT_EQ(tuned->ToString(), "sched:9,ms=2-200,cpu,fifo,fixed");
  EXPECT_EQ(ParseProfile("sched:1,new,stall,nice,idle,cpu")->ToString(),
            "sched:1");
  EXPECT_EQ(ParseProfile("sched:1,nice,idle,cpu")->ToString(),
            "sched:1,cpu,idle,nice");
  EXPECT_EQ(ParseProfile("sched:1,stall")->sched->modes, SchedSpec::kStall);
  EXPECT_THAT(SchedModeNames(SchedSpec::kDefaultModes | SchedSpec::kFifo),
              ElementsAre("cpu", "idle", "nice", "fifo", "stall", "new"));
}

TEST(SchedSpec, SeedFollowsTheRunUnlessFixed) {
  SchedSpec spec{.seed = 7};
  EXPECT_EQ(spec.SeedForRun(0), 7u);
  EXPECT_EQ(spec.SeedForRun(5), 11u);
  spec.fixed = true;
  EXPECT_EQ(spec.SeedForRun(5), 7u);
}

TEST(ChaosSpec, SeedFollowsTheRunUnlessFixed) {
  ChaosSpec spec{.seed = 7};
  EXPECT_EQ(spec.SeedForRun(0), 7u) << "outside Bazel";
  EXPECT_EQ(spec.SeedForRun(1), 7u);
  EXPECT_EQ(spec.SeedForRun(5), 11u);
  spec.seed = UINT64_MAX;
  EXPECT_EQ(spec.SeedForRun(2), 0u) << "wraps";
  spec.fixed = true;
  EXPECT_EQ(spec.SeedForRun(5), UINT64_MAX);
}

TEST(ParseProfile, EnvIsRepeatableAndSortedByName) {
  absl::StatusOr<Profile> profile =
      ParseProfile("env:ZED=1+env:A_B=x:y=z+env:EMPTY=");
  ASSERT_THAT(profile, IsOk());
  EXPECT_THAT(profile->env, ElementsAre(Pair("A_B", "x:y=z"), Pair("EMPTY", ""),
                                        Pair("ZED", "1")));
  EXPECT_EQ(profile->ToString(), "env:A_B=x:y=z+env:EMPTY=+env:ZED=1");
}

TEST(ParseProfile, CompositionIsCanonicalisedInAFixedOrder) {
  absl::StatusOr<Profile> profile =
      ParseProfile("env:X=1+chaos:7+hogs:2+cgroup:30+taskset:0");
  ASSERT_THAT(profile, IsOk());
  EXPECT_EQ(profile->ToString(), "taskset:0+cgroup:30+hogs:2+chaos:7+env:X=1");
}

TEST(ParseProfile, RoundTripsThroughToString) {
  for (const char* text :
       {"none", "taskset:0", "taskset:0-3,7", "cgroup:1", "cgroup:100/1000000",
        "hogs:64", "chaos:0", "chaos:1,p=0", "chaos:2,ms=1-2000,cap=100", "chaos:3,fixed",
        "chaos:4,p=20,burst=1000000", "sched:0", "sched:5,ms=1-2000,idle",
        "sched:6,cpu,fifo,fixed",
        "taskset:0+hogs:1+chaos:2+sched:3,nice+env:A=1",
        "env:A=", "taskset:1+cgroup:5/20000+hogs:1+chaos:9,p=5+env:B=2"}) {
    absl::StatusOr<Profile> parsed = ParseProfile(text);
    ASSERT_THAT(parsed, IsOk()) << text;
    EXPECT_EQ(parsed->ToString(), text);
    absl::StatusOr<Profile> again = ParseProfile(parsed->ToString());
    ASSERT_THAT(again, IsOk()) << text;
    EXPECT_EQ(*again, *parsed) << text;
  }
}

struct BadProfile {
  const char* text;
  const char* message;
};

TEST(ParseProfile, RejectsMalformedPartsNamingThem) {
  const BadProfile cases[] = {
      {"", "empty profile"},
      {"cgroup:abc", "cgroup:abc: \"abc\" is not a percentage in 1..100"},
      {"cgroup:0", "cgroup:0: \"0\" is not a percentage in 1..100"},
      {"cgroup:101", "cgroup:101: \"101\" is not a percentage"},
      {"cgroup:20/5", "cgroup:20/5: \"5\" is not a period in microseconds"},
      {"cgroup:20/", "cgroup:20/: \"\" is not a period"},
      {"cgroup:1/10000", "cgroup:1/10000: quota 100 us is below the kernel "
                         "minimum of 1000 us"},
      {"cgroup:-5", "cgroup:-5: \"-5\" is not a percentage"},
      {"taskset:", "taskset:: missing argument"},
      {"taskset", "taskset: missing argument"},
      {"taskset:a", "taskset:a: \"a\" is not a CPU"},
      {"taskset:3-1", "taskset:3-1: \"3-1\" is not a CPU"},
      {"taskset:0,,1", "taskset:0,,1: \"\" is not a CPU"},
      {"taskset:1024", "taskset:1024: \"1024\" is not a CPU (0..1023)"},
      {"hogs:0", "hogs:0: \"0\" is not a hog count in 1..64"},
      {"hogs:65", "hogs:65: \"65\" is not a hog count"},
      {"hogs:+1", "hogs:: missing argument"},
      {"chaos:x", "chaos:x: \"x\" is not a seed"},
      {"chaos:18446744073709551616", "is not a seed"},
      {"chaos:1,q=2", "chaos:1,q=2: unknown chaos option \"q=2\""},
      {"chaos:1,p=101", "chaos:1,p=101: p=\"101\" is not a percentage"},
      {"chaos:1,ms=20-1", "chaos:1,ms=20-1: ms=\"20-1\" is not a range"},
      {"chaos:1,ms=0-5", "is not a range"},
      {"chaos:1,cap=0", "cap=\"0\" is not a percentage in 1..100"},
      {"chaos:1,burst=x", "burst=\"x\" is not a count in 0..1000000"},
      {"chaos:1,burst=1000001", "is not a count"},
      {"chaos:1,p=1,p=2", "option \"p\" given twice"},
      {"chaos:1,fixed,fixed", "option \"fixed\" given twice"},
      {"chaos:1,fixed=1", "unknown chaos option \"fixed=1\""},
      {"sched:x", "sched:x: \"x\" is not a seed"},
      {"sched:1,bogus", "sched:1,bogus: unknown sched option \"bogus\""},
      {"sched:1,ms=0-5", "ms=0-5 is not a range"},
      {"sched:1,ms=9-5", "ms=9-5 is not a range"},
      {"sched:1,idle,idle", "option \"idle\" given twice"},
      {"sched:1+sched:2", "sched:2: sched appears twice"},
      {"env:1X=2", "env:1X=2: \"1X\" is not a variable name"},
      {"env:X", "env:X: expected env:NAME=VALUE"},
      {"env:X=1+env:X=2", "env:X=2: variable X is set twice"},
      {"none+hogs:1", "none: none cannot be combined"},
      {"hogs:1+none", "none: none cannot be combined"},
      {"hogs:1+hogs:2", "hogs:2: hogs appears twice"},
      {"hogs:1++cgroup:5", "empty part"},
      {"hogs:1+", "empty part"},
      {"bogus:1", "bogus:1: unknown part; expected none, taskset:CPUS"},
      {"NONE", "NONE: unknown part"},
      {" hogs:1", "unknown part"},
  };
  for (const BadProfile& bad : cases) {
    EXPECT_THAT(ParseProfile(bad.text),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr(bad.message)))
        << "profile: \"" << bad.text << "\"";
  }
}

TEST(ParseProfile, ErrorsStartWithTheOffendingPart) {
  EXPECT_THAT(ParseProfile("taskset:0+cgroup:abc+hogs:1"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       StartsWith("cgroup:abc: ")));
}

// Garbage must never crash the parser or be accepted as something else:
// whatever it accepts must survive a canonical round trip.
TEST(ParseProfile, RandomGarbageIsRejectedOrRoundTrips) {
  const std::string alphabet = "none:taskset,cgroup/hogs+chaos=env-0123456789pmx_ \x01\xff";
  std::mt19937_64 rng(20240531);
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text;
    const int length = static_cast<int>(rng() % 24);
    for (int j = 0; j < length; ++j) text += alphabet[rng() % alphabet.size()];
    absl::StatusOr<Profile> parsed = ParseProfile(text);
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_FALSE(parsed.status().message().empty());
      continue;
    }
    ++accepted;
    absl::StatusOr<Profile> again = ParseProfile(parsed->ToString());
    ASSERT_THAT(again, IsOk()) << text;
    EXPECT_EQ(*again, *parsed) << text;
  }
  // A handful of random strings ("none", "hogs:1", ...) parse; most do not.
  EXPECT_LT(accepted, 20000);
}

TEST(CpuList, FormatsRanges) {
  EXPECT_EQ(FormatCpuList({}), "");
  EXPECT_EQ(FormatCpuList({0}), "0");
  EXPECT_EQ(FormatCpuList({0, 1, 2, 5, 7, 8}), "0-2,5,7-8");
  absl::StatusOr<std::vector<int>> cpus = ParseCpuList("7-8,0-2,5");
  ASSERT_THAT(cpus, IsOk());
  EXPECT_THAT(*cpus, ElementsAre(0, 1, 2, 5, 7, 8));
}

TEST(SplitProfileList, KeepsCommasInsideAProfile) {
  EXPECT_THAT(SplitProfileList("none,taskset:0,1+hogs:2,chaos:7,p=50,ms=5-20"),
              ::testing::ElementsAre("none", "taskset:0,1+hogs:2",
                                     "chaos:7,p=50,ms=5-20"));
  EXPECT_THAT(SplitProfileList("none,sched:1,fifo,chaos:2"),
              ::testing::ElementsAre("none", "sched:1,fifo", "chaos:2"));
  EXPECT_THAT(SplitProfileList("cgroup:20, env:A=1,,none"),
              ::testing::ElementsAre("cgroup:20", "env:A=1", "none"));
  EXPECT_THAT(SplitProfileList(""), ::testing::IsEmpty());
  // Garbage stays one piece for ParseProfile to reject with its message.
  EXPECT_THAT(SplitProfileList("bogus,1"), ::testing::ElementsAre("bogus,1"));
}

}  // namespace
}  // namespace flaky::starve
