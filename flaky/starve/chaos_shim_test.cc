// Runs a fixed workload with the shim preloaded (the bytes embedded in the
// wrapper, written out as the wrapper does) and checks what it did.
#include "flaky/starve/chaos_shim.h"

#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "flaky/starve/embedded_shim.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::starve {
namespace {

using ::testing::HasSubstr;

struct Counts {
  int exit_code = -1;
  std::string output;
  uint64_t stalls = 0;
  uint64_t capped = 0;
  uint64_t stalled_ns = 0;
  int64_t loop_ns = 0;
  int64_t wall_ns = 0;  // measured here, around the whole process
};

std::string ShimPath() {
  static const std::string* path = [] {
    auto* p = new std::string(
        absl::StrCat(std::getenv("TEST_TMPDIR"), "/libflaky_chaos.so"));
    std::ofstream out(*p, std::ios::binary);
    const absl::string_view bytes = EmbeddedChaosShim();
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return p;
  }();
  return *path;
}

Counts RunWorkload(const std::string& chaos, const std::string& args) {
  const std::string workload =
      absl::StrCat(std::getenv("TEST_SRCDIR"), "/", std::getenv("TEST_WORKSPACE"),
                   "/flaky/starve/chaos_workload");
  const std::string command =
      absl::StrCat("LD_PRELOAD=", ShimPath(), " FLAKY_CHAOS='", chaos, "' ",
                   workload, " ", args, " 2>&1");
  Counts counts;
  const auto start = std::chrono::steady_clock::now();
  FILE* pipe = popen(command.c_str(), "r");
  char buffer[512];
  while (pipe != nullptr && fgets(buffer, sizeof(buffer), pipe) != nullptr) {
    counts.output += buffer;
  }
  const int status = pipe != nullptr ? pclose(pipe) : -1;
  counts.wall_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::steady_clock::now() - start)
                       .count();
  counts.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  for (absl::string_view field :
       absl::StrSplit(absl::StripAsciiWhitespace(counts.output), ' ')) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(field, absl::MaxSplits('=', 1));
    if (kv.first == "stalls") absl::SimpleAtoi(kv.second, &counts.stalls);
    if (kv.first == "capped") absl::SimpleAtoi(kv.second, &counts.capped);
    if (kv.first == "stalled_ns") absl::SimpleAtoi(kv.second, &counts.stalled_ns);
    if (kv.first == "loop_ns") absl::SimpleAtoi(kv.second, &counts.loop_ns);
  }
  return counts;
}

std::string Config(uint64_t seed, int p, int min_ms, int max_ms, int cap) {
  return absl::StrCat("seed=", seed, ",p=", p, ",min_ms=", min_ms,
                      ",max_ms=", max_ms, ",cap=", cap);
}

// Threads run one after another and stalls are 1 ms with cap=100, so the
// cap (elapsed wall time plus one stall) never refuses a stall: the counts
// depend on the seed alone.
TEST(ChaosShim, SameSeedSameStalls) {
  const Counts first = RunWorkload(Config(7, 20, 1, 1, 100), "threads");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  ASSERT_THAT(first.output, ::testing::StartsWith("stalls="));
  EXPECT_GT(first.stalls, 0u);
  EXPECT_EQ(first.capped, 0u);
  for (int i = 0; i < 3; ++i) {
    const Counts again = RunWorkload(Config(7, 20, 1, 1, 100), "threads");
    EXPECT_EQ(again.stalls, first.stalls) << again.output;
  }
  bool some_seed_differs = false;
  for (uint64_t seed = 8; seed < 13; ++seed) {
    const Counts other = RunWorkload(Config(seed, 20, 1, 1, 100), "threads");
    some_seed_differs |= other.stalls != first.stalls;
  }
  EXPECT_TRUE(some_seed_differs) << "the seed does not steer the stalls";
}

TEST(ChaosShim, ZeroChanceNeverStalls) {
  const Counts counts = RunWorkload(Config(7, 0, 1, 20, 10), "threads");
  ASSERT_EQ(counts.exit_code, 0) << counts.output;
  EXPECT_EQ(counts.stalls, 0u);
}

TEST(ChaosShim, StallsTheCallerAfterEachSignal) {
  const Counts counts = RunWorkload(Config(1, 100, 5, 5, 100), "signals 10");
  ASSERT_EQ(counts.exit_code, 0) << counts.output;
  EXPECT_GE(counts.stalls, 10u);
  // Ten stalls of 5 ms each inside the loop: a sleep never ends early.
  EXPECT_GE(counts.loop_ns, 50000000);
}

TEST(ChaosShim, CapBoundsTheShareOfTimeStalled) {
  const Counts counts = RunWorkload(Config(1, 100, 20, 20, 1), "signals 50");
  ASSERT_EQ(counts.exit_code, 0) << counts.output;
  EXPECT_GE(counts.stalls, 1u) << "the first stall is always within the cap";
  EXPECT_GE(counts.capped, 1u);
  // The shim's clock starts inside the process, so our wall time bounds it.
  EXPECT_LE(counts.stalled_ns,
            static_cast<uint64_t>(counts.wall_ns / 100 + 20000000))
      << counts.output;
}

TEST(ChaosShim, MalformedConfigurationExits125) {
  for (const char* bad : {"", "seed=1", "seed=x,p=1,min_ms=1,max_ms=2,cap=3",
                          "seed=1,p=101,min_ms=1,max_ms=2,cap=3",
                          "seed=1,p=1,min_ms=3,max_ms=2,cap=3",
                          "seed=1,p=1,min_ms=1,max_ms=2,cap=3,extra"}) {
    const Counts counts = RunWorkload(bad, "signals 1");
    EXPECT_EQ(counts.exit_code, 125) << bad;
    EXPECT_THAT(counts.output, HasSubstr("flaky-chaos: error: FLAKY_CHAOS="))
        << bad;
  }
}

}  // namespace
}  // namespace flaky::starve
