// Runs a fixed workload with the shim preloaded (the bytes embedded in the
// wrapper, written out as the wrapper does) and checks what it did.
#include "flaky/starve/chaos_shim.h"

#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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
  uint64_t sites = 0;
  uint64_t sites_stalled = 0;
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

Counts RunWorkload(const std::string& chaos, const std::string& args,
                   const std::string& counters_file = "") {
  const std::string workload =
      absl::StrCat(std::getenv("TEST_SRCDIR"), "/", std::getenv("TEST_WORKSPACE"),
                   "/flaky/starve/chaos_workload");
  const std::string command = absl::StrCat(
      "LD_PRELOAD=", ShimPath(), " FLAKY_CHAOS='", chaos, "' ",
      counters_file.empty() ? ""
                            : absl::StrCat("FLAKY_CHAOS_COUNTERS=",
                                           counters_file, " "),
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
    if (kv.first == "sites") absl::SimpleAtoi(kv.second, &counts.sites);
    if (kv.first == "sites_stalled") {
      absl::SimpleAtoi(kv.second, &counts.sites_stalled);
    }
    if (kv.first == "loop_ns") absl::SimpleAtoi(kv.second, &counts.loop_ns);
  }
  return counts;
}

std::string Config(uint64_t seed, int p, int min_ms, int max_ms, int cap,
                   int burst = 4) {
  return absl::StrCat("seed=", seed, ",p=", p, ",min_ms=", min_ms,
                      ",max_ms=", max_ms, ",cap=", cap, ",burst=", burst);
}

// In every case below the stalls are at most as long as the process has
// run, and cap=100 allows elapsed time plus one stall, so the cap never
// refuses a stall: the counts depend on the seed and the call sequence
// alone, and the call sequences are fixed (see chaos_workload.cc). Each
// expectation is therefore deterministic, not statistical.

TEST(ChaosShim, SameSeedSameStalls) {
  const Counts first = RunWorkload(Config(7, 50, 1, 1, 100), "handoffs 60");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  ASSERT_THAT(first.output, ::testing::StartsWith("stalls="));
  EXPECT_GT(first.stalls, 0u);
  EXPECT_EQ(first.capped, 0u);
  for (int i = 0; i < 2; ++i) {
    const Counts again = RunWorkload(Config(7, 50, 1, 1, 100), "handoffs 60");
    EXPECT_EQ(again.stalls, first.stalls) << again.output;
    EXPECT_EQ(again.sites_stalled, first.sites_stalled) << again.output;
  }
  bool some_seed_differs = false;
  for (uint64_t seed = 8; seed < 12; ++seed) {
    const Counts other =
        RunWorkload(Config(seed, 50, 1, 1, 100), "handoffs 60");
    some_seed_differs |= other.stalls != first.stalls;
  }
  EXPECT_TRUE(some_seed_differs) << "the seed does not steer the stalls";
}

TEST(ChaosShim, ZeroChanceNeverStalls) {
  const Counts counts = RunWorkload(Config(7, 0, 1, 20, 10), "handoffs 20");
  ASSERT_EQ(counts.exit_code, 0) << counts.output;
  EXPECT_EQ(counts.stalls, 0u);
  EXPECT_EQ(counts.sites, 3u) << "the helper's start, the post, the unlock";
}

// Three sites: the helper's start, the post that wakes it, the unlock after
// the post. Without decay every one of their calls stalls at p=100.
TEST(ChaosShim, EveryHandOffStallsAtFullChanceWithoutDecay) {
  const Counts counts =
      RunWorkload(Config(1, 100, 2, 2, 100, /*burst=*/0), "handoffs 20");
  ASSERT_EQ(counts.exit_code, 0) << counts.output;
  EXPECT_EQ(counts.stalls, 41u) << counts.output;
  EXPECT_EQ(counts.sites, 3u);
  EXPECT_EQ(counts.sites_stalled, 3u);
  // Forty stalls of 2 ms each inside the loop: a sleep never ends early.
  EXPECT_GE(counts.loop_ns, 80000000);
}

// The two hand-off sites occur 400 times each. Their first `burst` (4)
// occurrences always stall at p=100, so at least 4 + 4 + 1 (the start);
// after that occurrence n stalls with chance 4 / (n + 1): the expected total
// is 1 + 2 * (4 + 4 * (H(400) - H(4))) = 44.9, against 801 without decay.
TEST(ChaosShim, FrequentSitesDecay) {
  const Counts counts =
      RunWorkload(Config(3, 100, 1, 1, 100, /*burst=*/4), "handoffs 400");
  ASSERT_EQ(counts.exit_code, 0) << counts.output;
  EXPECT_GE(counts.stalls, 9u) << counts.output;
  EXPECT_LE(counts.stalls, 100u) << counts.output;
}

TEST(ChaosShim, CallsThatWakeNobodyNeverStallASingleThread) {
  const Counts counts =
      RunWorkload(Config(1, 100, 1, 1, 100, /*burst=*/0), "signals 1000");
  ASSERT_EQ(counts.exit_code, 0) << counts.output;
  EXPECT_EQ(counts.stalls, 0u) << counts.output;
  EXPECT_EQ(counts.sites, 1u);
}

// Once other threads exist, calls that wake nobody stall at a tenth of p:
// 3 starts (at p) and 510 calls (at 10%), one after another.
TEST(ChaosShim, CallsThatWakeNobodyStallRarelyOnceThreadsExist) {
  const Counts counts =
      RunWorkload(Config(5, 100, 1, 1, 100, /*burst=*/0), "threads");
  ASSERT_EQ(counts.exit_code, 0) << counts.output;
  EXPECT_GT(counts.stalls, 3u) << counts.output;
  EXPECT_LT(counts.stalls, 3u + 510u / 2) << counts.output;
}

TEST(ChaosShim, CapBoundsTheShareOfTimeStalled) {
  const Counts counts =
      RunWorkload(Config(1, 100, 20, 20, 1, /*burst=*/0), "handoffs 50");
  ASSERT_EQ(counts.exit_code, 0) << counts.output;
  EXPECT_GE(counts.stalls, 1u) << "the first stall is always within the cap";
  EXPECT_GE(counts.capped, 1u);
  // The shim's clock starts inside the process, so our wall time bounds it.
  EXPECT_LE(counts.stalled_ns,
            static_cast<uint64_t>(counts.wall_ns / 100 + 20000000))
      << counts.output;
}

FlakyChaosCounters ReadCountersFile(const std::string& path) {
  FlakyChaosCounters counters;
  std::memset(&counters, 0xff, sizeof(counters));
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(&counters), sizeof(counters));
  return counters;
}

void WriteCountersFile(const std::string& path, uint64_t magic) {
  FlakyChaosCounters counters;
  std::memset(&counters, 0, sizeof(counters));
  counters.magic = magic;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(&counters), sizeof(counters));
}

TEST(ChaosShim, AddsItsCountsToTheWrappersCountersFile) {
  const std::string path = absl::StrCat(std::getenv("TEST_TMPDIR"), "/counters");
  WriteCountersFile(path, FLAKY_CHAOS_COUNTERS_MAGIC);
  const Counts counts =
      RunWorkload(Config(1, 100, 1, 1, 100, /*burst=*/0), "handoffs 10", path);
  ASSERT_EQ(counts.exit_code, 0) << counts.output;
  const FlakyChaosCounters file = ReadCountersFile(path);
  EXPECT_EQ(file.magic, FLAKY_CHAOS_COUNTERS_MAGIC);
  EXPECT_EQ(file.processes, 1u);
  EXPECT_EQ(file.wakeups, 21u) << "1 start, 10 posts, 10 unlocks";
  EXPECT_EQ(file.stalls, counts.stalls);
  EXPECT_EQ(file.stalls, 21u);
  EXPECT_EQ(file.capped, counts.capped);
  EXPECT_EQ(file.stalled_ns, counts.stalled_ns);
  EXPECT_EQ(file.sites, 3u);
  EXPECT_EQ(file.sites_stalled, 3u);
}

TEST(ChaosShim, LeavesAFileThatIsNotACountersFileAlone) {
  const std::string path = absl::StrCat(std::getenv("TEST_TMPDIR"), "/other");
  WriteCountersFile(path, 12345);
  const Counts counts =
      RunWorkload(Config(1, 100, 1, 1, 100), "handoffs 3", path);
  ASSERT_EQ(counts.exit_code, 0) << counts.output;
  EXPECT_GT(counts.stalls, 0u);
  const FlakyChaosCounters file = ReadCountersFile(path);
  EXPECT_EQ(file.magic, 12345u);
  EXPECT_EQ(file.processes, 0u);
  EXPECT_EQ(file.stalls, 0u);
  const Counts missing = RunWorkload(Config(1, 100, 1, 1, 100), "handoffs 3",
                                     "/nonexistent/counters");
  EXPECT_EQ(missing.exit_code, 0) << missing.output;
}

TEST(ChaosShim, MalformedConfigurationExits125) {
  for (const char* bad :
       {"", "seed=1", "seed=x,p=1,min_ms=1,max_ms=2,cap=3,burst=4",
        "seed=1,p=101,min_ms=1,max_ms=2,cap=3,burst=4",
        "seed=1,p=1,min_ms=3,max_ms=2,cap=3,burst=4",
        "seed=1,p=1,min_ms=1,max_ms=2,cap=3",
        "seed=1,p=1,min_ms=1,max_ms=2,cap=3,burst=-1",
        "seed=1,p=1,min_ms=1,max_ms=2,cap=3,burst=4,extra"}) {
    const Counts counts = RunWorkload(bad, "signals 1");
    EXPECT_EQ(counts.exit_code, 125) << bad;
    EXPECT_THAT(counts.output, HasSubstr("flaky-chaos: error: FLAKY_CHAOS="))
        << bad;
  }
}

}  // namespace
}  // namespace flaky::starve
