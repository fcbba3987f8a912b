// A fixture that outlives any short --test_timeout, for generating the BEP
// of a TIMEOUT run.
#include <chrono>
#include <thread>

#include "gtest/gtest.h"

namespace {

TEST(TimeoutTest, Hangs) { std::this_thread::sleep_for(std::chrono::seconds(30)); }

}  // namespace
