#include "flaky/starve/record.h"

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "flaky/base/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::starve {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

AppliedRecord FullRecord() {
  AppliedRecord record;
  record.profile = "taskset:0+cgroup:20+hogs:1+chaos:18446744073709551615+env:A=1";
  record.cpus = {0};
  record.hogs = 1;
  record.hog_cpus = {0};
  record.cgroup = AppliedCgroup{1, "/sys/fs/cgroup/cpu/flaky/run-1-2", 20000,
                                100000};
  record.chaos = AppliedChaos{UINT64_MAX, UINT64_MAX - 4, false, 20, 1, 20, 10};
  record.env = {"A=1"};
  record.wrapper_pid = 4242;
  record.host = "remote-worker-3";
  return record;
}

TEST(AppliedRecord, RoundTripsThroughJson) {
  const AppliedRecord record = FullRecord();
  const std::string json = record.ToJson();
  EXPECT_EQ(json.find('\n'), std::string::npos);
  absl::StatusOr<AppliedRecord> parsed = ParseAppliedRecord(json);
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(parsed->profile, record.profile);
  EXPECT_THAT(parsed->cpus, ElementsAre(0));
  EXPECT_EQ(parsed->hogs, 1);
  EXPECT_THAT(parsed->hog_cpus, ElementsAre(0));
  ASSERT_TRUE(parsed->cgroup.has_value());
  EXPECT_EQ(parsed->cgroup->version, 1);
  EXPECT_EQ(parsed->cgroup->path, "/sys/fs/cgroup/cpu/flaky/run-1-2");
  EXPECT_EQ(parsed->cgroup->quota_us, 20000);
  EXPECT_EQ(parsed->cgroup->period_us, 100000);
  ASSERT_TRUE(parsed->chaos.has_value());
  EXPECT_EQ(parsed->chaos->seed, UINT64_MAX);
  EXPECT_EQ(parsed->chaos->base_seed, UINT64_MAX - 4);
  EXPECT_FALSE(parsed->chaos->fixed);
  EXPECT_EQ(parsed->seed, std::optional<uint64_t>(UINT64_MAX));
  EXPECT_THAT(parsed->env, ElementsAre("A=1"));
  EXPECT_EQ(parsed->wrapper_pid, 4242);
  EXPECT_EQ(parsed->host, "remote-worker-3");
  EXPECT_EQ(parsed->json, json);
}

TEST(AppliedRecord, NullCgroupAndChaosMeanNotApplied) {
  AppliedRecord record;
  record.profile = "none";
  record.cpus = {0, 1};
  record.not_applied.push_back({"cgroup:20", "read-only /sys/fs/cgroup"});
  const std::string json = record.ToJson();
  EXPECT_THAT(json, HasSubstr("\"cgroup\":null"));
  EXPECT_THAT(json, HasSubstr("\"chaos\":null"));
  absl::StatusOr<AppliedRecord> parsed = ParseAppliedRecord(json);
  ASSERT_THAT(parsed, IsOk());
  EXPECT_FALSE(parsed->cgroup.has_value());
  EXPECT_FALSE(parsed->chaos.has_value());
  EXPECT_FALSE(parsed->seed.has_value());
  ASSERT_EQ(parsed->not_applied.size(), 1u);
  EXPECT_EQ(parsed->not_applied[0].part, "cgroup:20");
}

TEST(AppliedRecord, ARecordWithoutHostParsesWithAnEmptyOne) {
  // Records of wrappers older than the host field (kept logs, stores).
  absl::StatusOr<AppliedRecord> parsed = ParseAppliedRecord(
      R"({"profile":"none","cpus":[0],"hogs":0,"cgroup":null,"chaos":null,)"
      R"("env":[],"wrapper_pid":7,"not_applied":[]})");
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(parsed->host, "");
  EXPECT_EQ(parsed->wrapper_pid, 7);
}

TEST(AppliedRecord, RejectsWhatIsNotARecord) {
  EXPECT_THAT(ParseAppliedRecord("not json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not a JSON object")));
  EXPECT_THAT(ParseAppliedRecord("[1]"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseAppliedRecord("{\"profile\":3}"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("missing a field or has a wrong type")));
}

TEST(FindAppliedRecord, FindsTheTaggedLineAmongTestOutput) {
  const std::string log = absl::StrCat(
      "exec ${PAGER:-/usr/bin/less} \"$0\" || exit 1\n",
      "Executing tests from //flaky/starve:probe\n",
      "-----\n", kRecordTag, FullRecord().ToJson(), "\r\n",
      "[==========] Running 1 test from 1 test suite.\n");
  std::optional<AppliedRecord> record = FindAppliedRecord(log);
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->seed, std::optional<uint64_t>(UINT64_MAX));
  EXPECT_EQ(record->wrapper_pid, 4242);
}

TEST(FindAppliedRecord, SkipsCorruptLinesAndFindsNothingWithoutOne) {
  EXPECT_FALSE(FindAppliedRecord("").has_value());
  EXPECT_FALSE(FindAppliedRecord("hello\nworld\n").has_value());
  EXPECT_FALSE(
      FindAppliedRecord(absl::StrCat(kRecordTag, "{\"truncat")).has_value());
  // A test that prints the tag itself mid-line is not mistaken for a record.
  EXPECT_FALSE(
      FindAppliedRecord(absl::StrCat("x ", kRecordTag, FullRecord().ToJson()))
          .has_value());
}

}  // namespace
}  // namespace flaky::starve
