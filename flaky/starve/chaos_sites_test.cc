#include "flaky/starve/chaos_sites.h"

#include <cmath>
#include <cstdint>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace {

constexpr uint64_t kFullChance = uint64_t{1} << 32;  // p = 100%

std::unique_ptr<ChaosSiteTable> EmptyTable() {
  // Value-initialised: every key 0, i.e. free.
  return std::make_unique<ChaosSiteTable>();
}

TEST(ChaosClassify, AfterAWakeComesTheCallThatLeavesTheCriticalSection) {
  EXPECT_EQ(ChaosClassify(/*woke_waiter=*/0, /*previous_woke=*/0),
            kChaosWokeNobody);
  EXPECT_EQ(ChaosClassify(1, 0), kChaosWokeWaiter);
  EXPECT_EQ(ChaosClassify(0, 1), kChaosAfterWake);
  EXPECT_EQ(ChaosClassify(1, 1), kChaosAfterWake);
}

TEST(ChaosSiteKey, KindAndClassMakeDistinctSitesOfOneAddress) {
  std::set<uint64_t> keys;
  for (ChaosCallKind kind : {kChaosThreadStart, kChaosCondWake, kChaosSemPost,
                             kChaosMutexUnlock}) {
    for (ChaosCallClass cls :
         {kChaosWokeNobody, kChaosWokeWaiter, kChaosAfterWake}) {
      const uint64_t key = ChaosSiteKey(0x7f0012345678, kind, cls);
      EXPECT_NE(key, 0u);
      keys.insert(key);
    }
  }
  EXPECT_EQ(keys.size(), 12u);
}

TEST(ChaosFindSite, ClaimsOnceAndFindsAgain) {
  auto table = EmptyTable();
  int is_new = 0;
  ChaosSite* first = ChaosFindSite(table.get(), 42, &is_new);
  EXPECT_EQ(is_new, 1);
  ChaosSite* again = ChaosFindSite(table.get(), 42, &is_new);
  EXPECT_EQ(is_new, 0);
  EXPECT_EQ(first, again);
  ChaosSite* other = ChaosFindSite(table.get(), 43, &is_new);
  EXPECT_EQ(is_new, 1);
  EXPECT_NE(other, first);
}

TEST(ChaosFindSite, AFullTableSharesTheOverflowSite) {
  auto table = EmptyTable();
  int is_new = 0;
  int claimed = 0;
  int overflowed = 0;
  for (uint64_t key = 1; key <= 2 * kChaosSiteSlots; ++key) {
    ChaosSite* site = ChaosFindSite(table.get(), key, &is_new);
    if (site == &table->overflow) {
      ++overflowed;
      EXPECT_EQ(is_new, 0);
    } else {
      claimed += is_new;
    }
  }
  EXPECT_LE(claimed, kChaosSiteSlots);
  EXPECT_EQ(claimed + overflowed, 2 * kChaosSiteSlots);
  EXPECT_GE(overflowed, kChaosSiteSlots);
}

// Threads racing to claim the same keys: each key is claimed exactly once
// and every thread finds the same slot for it. (Run under --config=tsan.)
TEST(ChaosFindSite, ConcurrentClaimsAgree) {
  auto table = EmptyTable();
  constexpr int kThreads = 4;
  constexpr uint64_t kKeys = 1000;
  std::vector<std::vector<ChaosSite*>> found(kThreads);
  std::vector<int> claims(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t key = 1; key <= kKeys; ++key) {
        int is_new = 0;
        found[t].push_back(ChaosFindSite(table.get(), key * 977, &is_new));
        claims[t] += is_new;
        ChaosCountOccurrence(found[t].back(), 0);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  int total_claims = 0;
  for (int t = 0; t < kThreads; ++t) {
    total_claims += claims[t];
    EXPECT_EQ(found[t], found[0]);
  }
  EXPECT_EQ(total_claims, static_cast<int>(kKeys));
  for (ChaosSite* site : found[0]) {
    EXPECT_EQ(site->recent & kChaosCountMask, static_cast<uint64_t>(kThreads));
  }
}

TEST(ChaosCountOccurrence, CountsFromZeroWithinAnEpoch) {
  ChaosSite site = {};
  for (uint64_t n = 0; n < 100; ++n) {
    EXPECT_EQ(ChaosCountOccurrence(&site, 7), n);
  }
}

TEST(ChaosCountOccurrence, HalvesPerEpochAndForgetsQuietSites) {
  ChaosSite site = {};
  for (int i = 0; i < 64; ++i) ChaosCountOccurrence(&site, 0);
  EXPECT_EQ(ChaosCountOccurrence(&site, 1), 32u) << "64 halved once";
  EXPECT_EQ(ChaosCountOccurrence(&site, 3), 8u) << "33 halved twice";
  EXPECT_EQ(ChaosCountOccurrence(&site, 3 + kChaosCountBits), 0u)
      << "quiet for many epochs";
  // Epochs wrap modulo 2^24 without a spurious jump.
  ChaosSite wrapping = {};
  const uint64_t last = kChaosEpochMask;
  for (int i = 0; i < 8; ++i) ChaosCountOccurrence(&wrapping, last);
  EXPECT_EQ(ChaosCountOccurrence(&wrapping, last + 1), 4u);
}

TEST(ChaosThreshold, RareSitesKeepTheFullChanceHotOnesDecay) {
  const uint64_t half = kFullChance / 2;
  for (uint64_t n = 0; n < 4; ++n) {
    EXPECT_EQ(ChaosThreshold(half, 4, n), half) << n;
  }
  EXPECT_EQ(ChaosThreshold(half, 4, 7), half / 2);
  EXPECT_EQ(ChaosThreshold(half, 4, 3999), half / 1000);
  EXPECT_EQ(ChaosThreshold(half, 0, 1000000), half) << "burst=0: no decay";
  EXPECT_EQ(ChaosThreshold(0, 4, 0), 0u);
  EXPECT_EQ(ChaosThreshold(kFullChance, 1000000, 999999), kFullChance)
      << "no overflow at the largest burst";
}

// The point of the rule: with the same chance p, a site seen 10 times and a
// site seen 100,000 times get stall counts of the same order, not 10,000
// times apart. Expected counts, summed exactly.
TEST(ChaosThreshold, StallsGrowLogarithmicallyWithASitesOccurrences) {
  auto expected_stalls = [](uint64_t occurrences) {
    double sum = 0;
    for (uint64_t n = 0; n < occurrences; ++n) {
      sum += static_cast<double>(ChaosThreshold(kFullChance / 2, 4, n)) /
             static_cast<double>(kFullChance);
    }
    return sum;
  };
  const double rare = expected_stalls(10);
  const double hot = expected_stalls(100000);
  EXPECT_NEAR(rare, 0.5 * 4 * (1 + std::log(10.0 / 4)), 0.5);
  EXPECT_NEAR(hot, 0.5 * 4 * (1 + std::log(100000.0 / 4)), 0.5);
  EXPECT_LT(hot / rare, 10.0);
}

}  // namespace
