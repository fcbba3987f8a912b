#include "flaky/results/bep.h"

#include <cstdlib>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/status_matchers.h"
#include "base/test_files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::results {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::ReadFileOrEmpty;
using ::flaky::testing::StatusIs;
using ::flaky::testing::TestTmpPath;
using ::flaky::testing::WriteTestFile;
using ::testing::ElementsAre;
using ::testing::EndsWith;
using ::testing::HasSubstr;

// The files in testdata/ were written by this workspace's Bazel 4.2.3
// (testdata/generate.sh).
std::string Testdata(absl::string_view name) {
  return absl::StrCat(std::getenv("TEST_SRCDIR"), "/",
                      std::getenv("TEST_WORKSPACE"),
                      "/flaky/results/testdata/", name);
}

using RunKey = std::tuple<std::string, int, int, std::string>;

std::vector<RunKey> Keys(const std::vector<BepTestResult>& results) {
  std::vector<RunKey> keys;
  for (const BepTestResult& r : results) {
    keys.emplace_back(r.label, r.run, r.shard, r.status);
  }
  return keys;
}

constexpr char kFixture[] = "//flaky/results/testdata:fixture_test";
constexpr char kPlain[] = "//flaky/results/testdata:plain_test";

TEST(ReadBepFile, RunsPerTestInCompletionOrder) {
  absl::StatusOr<BepEvents> events =
      ReadBepFile(Testdata("bep_runs_per_test.json"));
  ASSERT_THAT(events, IsOk());
  EXPECT_THAT(Keys(events->test_results),
              ElementsAre(RunKey{kFixture, 1, 1, "PASSED"},
                          RunKey{kPlain, 3, 1, "PASSED"},
                          RunKey{kPlain, 2, 1, "FAILED"},
                          RunKey{kPlain, 1, 1, "PASSED"},
                          RunKey{kFixture, 3, 1, "PASSED"},
                          RunKey{kFixture, 2, 1, "FAILED"}));
  const BepTestResult& failed = events->test_results[5];
  EXPECT_EQ(failed.attempt, 1);
  EXPECT_EQ(failed.line, 28);
  // 64-bit fields arrive as JSON strings: "750", "1795801335350".
  EXPECT_EQ(failed.duration, absl::Milliseconds(750));
  EXPECT_EQ(failed.started_at, absl::FromUnixMillis(1795801335350));
  EXPECT_EQ(failed.strategy, "linux-sandbox");
  EXPECT_THAT(failed.test_log,
              EndsWith("/testlogs/flaky/results/testdata/fixture_test/"
                       "run_2_of_3/test.log"));
  EXPECT_THAT(failed.test_xml, EndsWith("/fixture_test/run_2_of_3/test.xml"));
  EXPECT_EQ(failed.test_log[0], '/');

  ASSERT_EQ(events->test_summaries.size(), 2u);
  EXPECT_EQ(events->test_summaries[0].label, kPlain);
  EXPECT_EQ(events->test_summaries[0].overall_status, "FAILED");
  EXPECT_EQ(events->test_summaries[0].total_run_count, 3);
  EXPECT_EQ(events->test_summaries[0].run_count, 3);
  EXPECT_EQ(events->test_summaries[0].shard_count, 1);
  EXPECT_TRUE(events->build_finished);
  EXPECT_EQ(events->exit_code, 3);
  EXPECT_EQ(events->exit_code_name, "TESTS_FAILED");
  EXPECT_TRUE(events->last_message);
  EXPECT_FALSE(events->truncated);
}

TEST(ReadBepFile, ShardsAreCountedFromOne) {
  absl::StatusOr<BepEvents> events = ReadBepFile(Testdata("bep_sharded.json"));
  ASSERT_THAT(events, IsOk());
  const std::string sharded = "//flaky/results/testdata:sharded_test";
  EXPECT_THAT(Keys(events->test_results),
              ElementsAre(RunKey{sharded, 2, 2, "PASSED"},
                          RunKey{sharded, 1, 1, "PASSED"},
                          RunKey{sharded, 1, 2, "FAILED"},
                          RunKey{sharded, 2, 1, "PASSED"}));
  ASSERT_EQ(events->test_summaries.size(), 1u);
  EXPECT_EQ(events->test_summaries[0].shard_count, 2);
  EXPECT_EQ(events->test_summaries[0].run_count, 2);
  EXPECT_EQ(events->test_summaries[0].total_run_count, 4);
}

TEST(ReadBepFile, TimeoutStatus) {
  absl::StatusOr<BepEvents> events = ReadBepFile(Testdata("bep_timeout.json"));
  ASSERT_THAT(events, IsOk());
  ASSERT_EQ(events->test_results.size(), 1u);
  EXPECT_EQ(events->test_results[0].status, "TIMEOUT");
  EXPECT_EQ(OutcomeFromBepStatus(events->test_results[0].status),
            Outcome::kTimeout);
  EXPECT_EQ(events->test_summaries[0].overall_status, "TIMEOUT");
}

TEST(ReadBepFile, TruncatedLastLineKeepsCompleteEvents) {
  absl::StatusOr<BepEvents> events =
      ReadBepFile(Testdata("bep_truncated.json"));
  ASSERT_THAT(events, IsOk());
  EXPECT_TRUE(events->truncated);
  EXPECT_FALSE(events->last_message);
  EXPECT_FALSE(events->build_finished);
  EXPECT_THAT(Keys(events->test_results),
              ElementsAre(RunKey{kFixture, 1, 1, "PASSED"},
                          RunKey{kPlain, 3, 1, "PASSED"},
                          RunKey{kPlain, 2, 1, "FAILED"}));
}

TEST(ReadBepFile, GarbageInTheMiddleNamesTheLine) {
  const std::string path = Testdata("bep_garbage_middle.json");
  EXPECT_THAT(ReadBepFile(path),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr(path), HasSubstr("line 23 is not valid JSON"))));
}

TEST(ReadBepFile, EmptyFileIsAnUnfinishedStream) {
  absl::StatusOr<BepEvents> events = ReadBepFile(Testdata("bep_empty.json"));
  ASSERT_THAT(events, IsOk());
  EXPECT_TRUE(events->test_results.empty());
  EXPECT_FALSE(events->last_message);
  EXPECT_FALSE(events->truncated);
}

TEST(ReadBepFile, MissingFileIsNotFound) {
  EXPECT_THAT(ReadBepFile(TestTmpPath("no_such_bep.json")),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("no_such_bep.json does not exist")));
}

TEST(ParseBep, AcceptsIntegersAsNumbersOrStrings) {
  absl::StatusOr<BepEvents> events = ParseBep(
      R"({"id":{"testResult":{"label":"//a:b","run":"4","shard":2,"attempt":3}},)"
      R"("testResult":{"status":"FAILED","testAttemptDurationMillis":12,)"
      R"("testActionOutput":[{"name":"test.xml","uri":"bytestream://h/x"},)"
      R"({"name":"test.log","uri":"file:///a/b%20c/test.log"}]}})");
  ASSERT_THAT(events, IsOk());
  ASSERT_EQ(events->test_results.size(), 1u);
  const BepTestResult& r = events->test_results[0];
  EXPECT_EQ(r.run, 4);
  EXPECT_EQ(r.shard, 2);
  EXPECT_EQ(r.attempt, 3);
  EXPECT_EQ(r.duration, absl::Milliseconds(12));
  EXPECT_EQ(r.test_log, "/a/b c/test.log");
  EXPECT_EQ(r.test_xml, "") << "a remote output has no local path";
  EXPECT_THAT(r.non_local_outputs, ElementsAre("test.xml bytestream://h/x"));
}

TEST(ParseBep, RejectsBadFieldsWithLineNumbers) {
  EXPECT_THAT(
      ParseBep("{\"id\":{}}\n{\"id\":{\"testResult\":{\"label\":\"//a:b\",\"run\":\"x\"}}}\n",
               "f.json"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("f.json line 2: \"run\" is not a small")));
  EXPECT_THAT(ParseBep("{\"id\":{\"testResult\":{}}}\n", "f.json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("f.json line 1: testResult event without a label")));
  EXPECT_THAT(ParseBep("[1]\n", "f.json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("line 1: a build event must be a JSON object")));
}

TEST(FileUriToPath, DecodesPercentEscapes) {
  EXPECT_EQ(*FileUriToPath("file:///a/b%20c/%C3%A9.log"), "/a/b c/\xC3\xA9.log");
  EXPECT_EQ(*FileUriToPath("file://localhost/x"), "/x");
  EXPECT_THAT(FileUriToPath("bytestream://host/blobs/1"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not a file:// URI")));
  EXPECT_THAT(FileUriToPath("file:///a%2"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("bad %-escape")));
  EXPECT_THAT(FileUriToPath("file:///a%zz"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("bad %-escape")));
  EXPECT_THAT(FileUriToPath("file:///a%00b"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("NUL")));
  EXPECT_THAT(FileUriToPath("file://host"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("without an absolute path")));
}

TEST(BepReader, PollsAGrowingFileLikeBazelWritesIt) {
  const std::string whole = ReadFileOrEmpty(Testdata("bep_runs_per_test.json"));
  const std::string path = TestTmpPath("growing.json");
  BepReader reader(path);
  // Before Bazel creates the file there is nothing to read yet.
  absl::StatusOr<BepEvents> none = reader.Poll();
  ASSERT_THAT(none, IsOk());
  EXPECT_TRUE(none->test_results.empty());

  WriteTestFile(path, "");
  std::vector<BepTestResult> seen;
  // Grow the file in uneven chunks that cut lines anywhere.
  size_t written = 0;
  for (size_t chunk = 1; written < whole.size(); chunk = chunk * 3 + 7) {
    const size_t n = std::min(chunk, whole.size() - written);
    WriteTestFile(path, absl::string_view(whole).substr(written, n),
                  /*append=*/true);
    written += n;
    absl::StatusOr<BepEvents> fresh = reader.Poll();
    ASSERT_THAT(fresh, IsOk());
    EXPECT_FALSE(fresh->truncated);
    seen.insert(seen.end(), fresh->test_results.begin(),
                fresh->test_results.end());
    // Only complete lines are consumed.
    const size_t complete_lines = static_cast<size_t>(
        std::count(whole.begin(), whole.begin() + written, '\n'));
    EXPECT_EQ(static_cast<size_t>(reader.lines_read()), complete_lines);
  }
  absl::StatusOr<BepEvents> rest = reader.Finish();
  ASSERT_THAT(rest, IsOk());
  EXPECT_TRUE(reader.last_message());
  absl::StatusOr<BepEvents> all = ReadBepFile(path);
  ASSERT_THAT(all, IsOk());
  EXPECT_EQ(Keys(seen), Keys(all->test_results));
  EXPECT_EQ(seen.size(), 6u);
}

TEST(BepReader, PartialLineWaitsThenCountsAsTruncatedAtFinish) {
  const std::string path = TestTmpPath("partial.json");
  const std::string line =
      R"({"id":{"testResult":{"label":"//a:b","run":1}},"testResult":{"status":"PASSED"}})";
  WriteTestFile(path, line + "\n" + line.substr(0, 20));
  BepReader reader(path);
  absl::StatusOr<BepEvents> first = reader.Poll();
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->test_results.size(), 1u);
  absl::StatusOr<BepEvents> again = reader.Poll();
  ASSERT_THAT(again, IsOk());
  EXPECT_TRUE(again->test_results.empty());
  EXPECT_FALSE(again->truncated);
  absl::StatusOr<BepEvents> rest = reader.Finish();
  ASSERT_THAT(rest, IsOk());
  EXPECT_TRUE(rest->truncated);
  EXPECT_TRUE(rest->test_results.empty());
}

TEST(BepReader, CompleteLastLineWithoutNewlineIsAcceptedAtFinish) {
  const std::string path = TestTmpPath("no_newline.json");
  WriteTestFile(path,
                R"({"id":{"testResult":{"label":"//a:b"}},"testResult":{"status":"PASSED"}})");
  BepReader reader(path);
  ASSERT_THAT(reader.Poll(), IsOk());
  absl::StatusOr<BepEvents> rest = reader.Finish();
  ASSERT_THAT(rest, IsOk());
  EXPECT_FALSE(rest->truncated);
  EXPECT_EQ(rest->test_results.size(), 1u);
}

TEST(BepReader, MalformedLineNumberCountsAcrossPolls) {
  const std::string path = TestTmpPath("bad_later.json");
  WriteTestFile(path, "{\"id\":{}}\n{\"id\":{}}\n");
  BepReader reader(path);
  ASSERT_THAT(reader.Poll(), IsOk());
  WriteTestFile(path, "{\"id\":{}}\nnot json\n", /*append=*/true);
  EXPECT_THAT(reader.Poll(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("line 4 is not valid JSON")));
}

TEST(BepReader, RewrittenFileIsFailedPrecondition) {
  const std::string path = TestTmpPath("rewritten.json");
  WriteTestFile(path, "{\"id\":{}}\n{\"id\":{}}\n");
  BepReader reader(path);
  ASSERT_THAT(reader.Poll(), IsOk());
  WriteTestFile(path, "{\"id\":{}}\n");
  EXPECT_THAT(reader.Poll(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("shrank from 20 to 10 bytes")));
}

TEST(BepReader, FinishWithoutAFileIsNotFound) {
  BepReader reader(TestTmpPath("never_written.json"));
  EXPECT_THAT(reader.Finish(), StatusIs(absl::StatusCode::kNotFound,
                                        HasSubstr("never_written.json")));
}

}  // namespace
}  // namespace flaky::results
