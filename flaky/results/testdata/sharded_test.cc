// A sharded fixture for generating real Bazel outputs: four cases split over
// the shards Bazel asks for; the case that lands in shard 1 fails on run 1.
#include <cstdlib>

#include "gtest/gtest.h"

namespace {

int EnvInt(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? -1 : std::atoi(value);
}

TEST(ShardedTest, A) {}
TEST(ShardedTest, B) {
  EXPECT_FALSE(EnvInt("TEST_RANDOM_SEED") == 1) << "interpreter already running";
}
TEST(ShardedTest, C) {}
TEST(ShardedTest, D) {}

}  // namespace
