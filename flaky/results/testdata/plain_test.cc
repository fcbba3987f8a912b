// A non-gtest fixture: it writes no test.xml itself, so Bazel's test-setup.sh
// writes its fallback XML. Exits 1 on run 2.
#include <cstdio>
#include <cstdlib>

int main() {
  const char* seed = std::getenv("TEST_RANDOM_SEED");
  if (seed != nullptr && std::atoi(seed) == 2) {
    std::fprintf(stderr, "plain fixture: failing on run 2\n");
    return 1;
  }
  std::printf("plain fixture: ok\n");
  return 0;
}
