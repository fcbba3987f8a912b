// The failure schedule of the deliberately flaky fixture test: which runs
// fail is a pure function of (salt, run, probability), so an end-to-end test
// can predict the exact number of failures a hunt must record.
//
//   // Bazel 4.2.3 sets TEST_RANDOM_SEED to the run number (1..N) under
//   // --runs_per_test, so run 7 of a hunt fails iff:
//   bool fails = flaky::e2e::FixtureFails("e2e", 7, 0.3);
//   int expected = flaky::e2e::ExpectedFailures("e2e", 40, 0.3);  // runs 1..40
#ifndef TESTS_E2E_FIXTURE_SCHEDULE_H_
#define TESTS_E2E_FIXTURE_SCHEDULE_H_

#include <cstdint>
#include <string_view>

namespace flaky::e2e {

// FixtureHash is FNV-1a 64 over `salt`, a NUL and the decimal `run`: fixed by
// this header, not by a standard library's std::hash, so the schedule is the
// same for every compiler.
inline uint64_t FixtureHash(std::string_view salt, int run) {
  uint64_t hash = 14695981039346656037ULL;
  auto mix = [&hash](unsigned char byte) {
    hash ^= byte;
    hash *= 1099511628211ULL;
  };
  for (char c : salt) mix(static_cast<unsigned char>(c));
  mix(0);
  char digits[16];
  int n = 0;
  unsigned value = run < 0 ? 0u : static_cast<unsigned>(run);
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0 && n < 16);
  while (n > 0) mix(static_cast<unsigned char>(digits[--n]));
  // FNV's low bits mix poorly for short inputs; a final avalanche
  // (splitmix64's) spreads them so the top 53 bits are uniform.
  hash ^= hash >> 30;
  hash *= 0xbf58476d1ce4e5b9ULL;
  hash ^= hash >> 27;
  hash *= 0x94d049bb133111ebULL;
  hash ^= hash >> 31;
  return hash;
}

// FixtureFails is true when run `run` of the fixture with `salt` fails at
// failure probability `probability` (0 never, 1 always).
inline bool FixtureFails(std::string_view salt, int run, double probability) {
  double unit = static_cast<double>(FixtureHash(salt, run) >> 11) *
                (1.0 / 9007199254740992.0);  // 2^-53: uniform in [0, 1)
  return unit < probability;
}

// ExpectedFailures counts the failing runs among 1..runs.
inline int ExpectedFailures(std::string_view salt, int runs,
                            double probability) {
  int failures = 0;
  for (int run = 1; run <= runs; ++run) {
    if (FixtureFails(salt, run, probability)) ++failures;
  }
  return failures;
}

}  // namespace flaky::e2e

#endif  // TESTS_E2E_FIXTURE_SCHEDULE_H_
