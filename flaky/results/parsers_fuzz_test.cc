// Deterministic fuzzing of the result parsers: many seeded mutations (bit
// flips, truncations, splices, insertions, deletions, duplications, number
// swaps) of the real Bazel/gtest files in testdata/. Every input must parse
// or fail with InvalidArgument; nothing may crash, hang or trip a sanitizer
// (run it with --config=asan too). The seed is fixed, so a failure
// reproduces; the failing seed and mutation index are in the message.
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "base/test_files.h"
#include "flaky/results/bep.h"
#include "flaky/results/gtest_log.h"
#include "flaky/results/junit.h"
#include "flaky/results/signature.h"
#include "gtest/gtest.h"

namespace flaky::results {
namespace {

using ::flaky::testing::ReadFileOrEmpty;

constexpr uint64_t kSeed = 20261127;

std::string Testdata(absl::string_view name) {
  return absl::StrCat(std::getenv("TEST_SRCDIR"), "/",
                      std::getenv("TEST_WORKSPACE"),
                      "/flaky/results/testdata/", name);
}

std::vector<std::string> Corpus(const std::vector<std::string>& names) {
  std::vector<std::string> corpus;
  for (const std::string& name : names) {
    corpus.push_back(ReadFileOrEmpty(Testdata(name)));
    EXPECT_FALSE(corpus.back().empty()) << name;
  }
  return corpus;
}

// Mutator applies 1-3 random edits to a corpus entry.
// Iterations is how many mutations a test tries: `default_count`, or
// FLAKY_FUZZ_ITERATIONS when set (ci/bench runs a million, e.g.
// bazel test --test_env=FLAKY_FUZZ_ITERATIONS=1000000 ...).
int Iterations(int default_count) {
  const char* text = std::getenv("FLAKY_FUZZ_ITERATIONS");
  int count = 0;
  if (text == nullptr || !absl::SimpleAtoi(text, &count) || count < 1) return default_count;
  return count;
}

class Mutator {
 public:
  Mutator(uint64_t seed, std::vector<std::string> corpus)
      : random_(seed), corpus_(std::move(corpus)) {}

  std::string Next() {
    std::string data = corpus_[Below(corpus_.size())];
    const int edits = 1 + static_cast<int>(Below(3));
    for (int i = 0; i < edits; ++i) Edit(data);
    return data;
  }

 private:
  size_t Below(size_t n) {
    return n == 0 ? 0 : std::uniform_int_distribution<size_t>(0, n - 1)(random_);
  }

  char InterestingByte() {
    static constexpr char kBytes[] = {'\n', '{', '}', '"', '<', '>', '/',
                                      '\\', ':', ',', '[', ']', '&', '%',
                                      '\0', '\xff', '\xc3', '0', '9', ' '};
    return kBytes[Below(sizeof(kBytes))];
  }

  void Edit(std::string& data) {
    const size_t size = data.size();
    switch (Below(7)) {
      case 0: {  // flip bits
        if (size == 0) return;
        for (size_t n = 1 + Below(8); n > 0; --n) {
          data[Below(size)] ^= static_cast<char>(1 << Below(8));
        }
        return;
      }
      case 1:  // truncate
        data.resize(Below(size + 1));
        return;
      case 2: {  // splice with another corpus entry
        const std::string& other = corpus_[Below(corpus_.size())];
        data = data.substr(0, Below(size + 1)) +
               other.substr(Below(other.size() + 1));
        return;
      }
      case 3: {  // insert interesting bytes
        std::string bytes;
        for (size_t n = 1 + Below(4); n > 0; --n) bytes += InterestingByte();
        data.insert(Below(size + 1), bytes);
        return;
      }
      case 4: {  // delete a range
        const size_t at = Below(size + 1);
        data.erase(at, Below(64));
        return;
      }
      case 5: {  // duplicate a range
        const size_t at = Below(size + 1);
        data.insert(Below(size + 1), data.substr(at, Below(256)));
        return;
      }
      default: {  // replace a digit with an extreme number
        if (size == 0) return;
        const size_t at = Below(size);
        if (data[at] < '0' || data[at] > '9') return;
        static constexpr const char* kNumbers[] = {
            "99999999999999999999999", "-1", "9223372036854775808", "1e308",
            "0.0000001", "2147483648"};
        data.replace(at, 1, kNumbers[Below(6)]);
        return;
      }
    }
  }

  std::mt19937_64 random_;
  std::vector<std::string> corpus_;
};

TEST(ParsersFuzz, BepParserNeverCrashesAndAgreesWithTheReader) {
  Mutator mutator(kSeed, Corpus({"bep_runs_per_test.json", "bep_sharded.json",
                                 "bep_timeout.json", "bep_gtest_repeat.json",
                                 "bep_truncated.json"}));
  const std::string path = absl::StrCat(std::getenv("TEST_TMPDIR"), "/m.json");
  int ok = 0;
  for (int i = 0; i < Iterations(800); ++i) {
    const std::string input = mutator.Next();
    absl::StatusOr<BepEvents> parsed = ParseBep(input, "m.json");
    if (parsed.ok()) {
      ++ok;
      for (const BepTestResult& r : parsed->test_results) {
        ASSERT_FALSE(r.label.empty()) << "mutation " << i;
        ASSERT_GE(r.line, 1) << "mutation " << i;
      }
    } else {
      ASSERT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument)
          << "mutation " << i << ": " << parsed.status();
      ASSERT_TRUE(absl::StrContains(parsed.status().message(), "m.json line "))
          << "mutation " << i << ": " << parsed.status();
    }
    // Every 25th input also goes through the incremental reader, which must
    // agree with the one-shot parse.
    if (i % 25 != 0) continue;
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out << input;
    }
    BepReader reader(path);
    absl::StatusOr<BepEvents> polled = reader.Poll();
    size_t results = 0;
    absl::Status status = polled.status();
    if (polled.ok()) {
      results += polled->test_results.size();
      absl::StatusOr<BepEvents> rest = reader.Finish();
      status = rest.status();
      if (rest.ok()) results += rest->test_results.size();
    }
    ASSERT_EQ(status.ok(), parsed.ok()) << "mutation " << i << ": " << status;
    if (parsed.ok()) {
      ASSERT_EQ(results, parsed->test_results.size()) << "mutation " << i;
    }
  }
  // Mutations that keep the file parseable (say, a flipped bit inside a
  // string, or a truncation) are common; all-failing would mean the
  // mutator only produces garbage.
  EXPECT_GT(ok, 50);
  EXPECT_LT(ok, Iterations(800));
}

TEST(ParsersFuzz, JUnitParserNeverCrashes) {
  Mutator mutator(kSeed + 1,
                  Corpus({"fixture_run2_fail.xml", "fixture_run1_pass.xml",
                          "plain_run2_fail.xml", "sharded_shard2_run1_fail.xml",
                          "timeout.xml", "gtest_repeat.xml"}));
  int ok = 0;
  for (int i = 0; i < Iterations(6000); ++i) {
    const std::string input = mutator.Next();
    absl::StatusOr<JUnitReport> parsed = ParseJUnitXml(input, "m.xml");
    if (parsed.ok()) {
      ++ok;
      for (const TestCaseResult& c : parsed->cases) {
        ASSERT_GE(c.duration, absl::ZeroDuration()) << "mutation " << i;
        // Messages feed signatures; those must stay bounded.
        ASSERT_LE(FailureSignature(c.failure_message).size(),
                  kMaxSignatureLength)
            << "mutation " << i;
      }
    } else {
      ASSERT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument)
          << "mutation " << i << ": " << parsed.status();
      ASSERT_TRUE(absl::StartsWith(parsed.status().message(), "m.xml "))
          << "mutation " << i << ": " << parsed.status();
    }
  }
  EXPECT_GT(ok, 100);
  EXPECT_LT(ok, Iterations(6000));
}

TEST(ParsersFuzz, GtestLogParserAndSignaturesNeverCrash) {
  Mutator mutator(kSeed + 2, Corpus({"fixture_run2_fail.log",
                                     "gtest_repeat.log", "timeout.log"}));
  for (int i = 0; i < Iterations(6000); ++i) {
    const std::string input = mutator.Next();
    GtestLog log = ParseGtestLog(input);
    for (const GtestLogCase& c : log.cases) {
      ASSERT_FALSE(c.test_case.find('\n') != std::string::npos)
          << "mutation " << i;
      ASSERT_GE(c.iteration, 0) << "mutation " << i;
    }
    ASSERT_LE(FailureSignature(input).size(), kMaxSignatureLength)
        << "mutation " << i;
  }
}

}  // namespace
}  // namespace flaky::results
