#include "flaky/starve/record.h"

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/status_matchers.h"
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
  AppliedChaos chaos;
  chaos.seed = UINT64_MAX;
  chaos.base_seed = UINT64_MAX - 4;
  chaos.stall_percent = 50;
  chaos.burst = 4;
  chaos.min_ms = 1;
  chaos.max_ms = 20;
  chaos.cap_percent = 10;
  record.chaos = chaos;
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
  EXPECT_EQ(parsed->chaos->stall_percent, 50);
  EXPECT_EQ(parsed->chaos->burst, 4);
  EXPECT_EQ(parsed->chaos->cap_percent, 10);
  EXPECT_FALSE(parsed->chaos->counters.has_value())
      << "the record before the test ran";
  EXPECT_EQ(parsed->seed, std::optional<uint64_t>(UINT64_MAX));
  EXPECT_THAT(parsed->env, ElementsAre("A=1"));
  EXPECT_EQ(parsed->wrapper_pid, 4242);
  EXPECT_EQ(parsed->host, "remote-worker-3");
  EXPECT_FALSE(parsed->killed.has_value()) << "the record before the test ran";
  EXPECT_THAT(json, HasSubstr("\"wrapper_pid\":4242,\"killed\":null,"));
  EXPECT_EQ(parsed->json, json);
}

TEST(AppliedRecord, KilledLeftoversRoundTrip) {
  AppliedRecord record = FullRecord();
  record.killed = 3;
  const std::string json = record.ToJson();
  EXPECT_THAT(json, HasSubstr("\"killed\":3,"));
  absl::StatusOr<AppliedRecord> parsed = ParseAppliedRecord(json);
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(parsed->killed, std::optional<int64_t>(3));
  record.killed = 0;
  parsed = ParseAppliedRecord(record.ToJson());
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(parsed->killed, std::optional<int64_t>(0)) << "0 is not null";
}

TEST(AppliedRecord, ChaosCountersRoundTrip) {
  AppliedRecord record = FullRecord();
  ChaosCounters counters;
  counters.processes = 2;
  counters.wakeups = 27000;
  counters.stalls = 5;
  counters.capped = 3;
  counters.stalled_ns = UINT64_MAX;
  counters.sites = 31;
  counters.sites_stalled = 4;
  record.chaos->counters = counters;
  const std::string json = record.ToJson();
  EXPECT_THAT(json, HasSubstr("\"counters\":{\"processes\":2,"));
  absl::StatusOr<AppliedRecord> parsed = ParseAppliedRecord(json);
  ASSERT_THAT(parsed, IsOk());
  ASSERT_TRUE(parsed->chaos->counters.has_value());
  EXPECT_EQ(*parsed->chaos->counters, counters);
}

// What the wrapper wrote before chaos had burst and counters, and before
// killed.
TEST(AppliedRecord, ReadsRecordsFromBeforeBurstAndCounters) {
  absl::StatusOr<AppliedRecord> parsed = ParseAppliedRecord(
      "{\"profile\":\"chaos:7\",\"cpus\":[0,1],\"hogs\":0,\"hog_cpus\":[],"
      "\"cgroup\":null,\"chaos\":{\"seed\":9,\"base_seed\":7,\"fixed\":false,"
      "\"p\":20,\"min_ms\":1,\"max_ms\":20,\"cap\":10},\"env\":[],"
      "\"wrapper_pid\":5,\"not_applied\":[]}");
  ASSERT_THAT(parsed, IsOk());
  EXPECT_FALSE(parsed->sched.has_value());
  EXPECT_EQ(parsed->chaos->burst, 0);
  EXPECT_FALSE(parsed->chaos->counters.has_value());
  EXPECT_FALSE(parsed->killed.has_value());
  EXPECT_EQ(parsed->seed, std::optional<uint64_t>(9));
}

TEST(AppliedRecord, SchedRoundTripsAndGivesTheSeedWithoutChaos) {
  AppliedRecord record;
  record.profile = "sched:3";
  record.cpus = {0, 1};
  AppliedSched sched;
  sched.seed = 5;
  sched.base_seed = 3;
  sched.min_ms = 1;
  sched.max_ms = 50;
  sched.modes = {"cpu", "idle", "nice"};
  record.sched = sched;
  std::string json = record.ToJson();
  EXPECT_THAT(json, HasSubstr("\"counters\":null"));
  absl::StatusOr<AppliedRecord> parsed = ParseAppliedRecord(json);
  ASSERT_THAT(parsed, IsOk());
  ASSERT_TRUE(parsed->sched.has_value());
  EXPECT_EQ(parsed->sched->seed, 5u);
  EXPECT_EQ(parsed->sched->base_seed, 3u);
  EXPECT_THAT(parsed->sched->modes, ElementsAre("cpu", "idle", "nice"));
  EXPECT_FALSE(parsed->sched->counters.has_value());
  EXPECT_EQ(parsed->seed, std::optional<uint64_t>(5));

  record.sched->counters = AppliedSchedCounters{7, 4, 30, 1, 2, 3};
  parsed = ParseAppliedRecord(record.ToJson());
  ASSERT_THAT(parsed, IsOk());
  ASSERT_TRUE(parsed->sched->counters.has_value());
  EXPECT_EQ(parsed->sched->counters->windows, 7u);
  EXPECT_EQ(parsed->sched->counters->threads, 4u);
  EXPECT_EQ(parsed->sched->counters->changes, 30u);
  EXPECT_EQ(parsed->sched->counters->refused, 1u);
  EXPECT_EQ(parsed->sched->counters->stalls, 2u);
  EXPECT_EQ(parsed->sched->counters->held, 3u);

  // With chaos too, the trial's seed is chaos's.
  record.chaos = AppliedChaos{};
  record.chaos->seed = 9;
  parsed = ParseAppliedRecord(record.ToJson());
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(parsed->seed, std::optional<uint64_t>(9));
}

TEST(AppliedRecord, NullCgroupAndChaosMeanNotApplied) {
  AppliedRecord record;
  record.profile = "none";
  record.cpus = {0, 1};
  record.not_applied.push_back({"cgroup:20", "read-only /sys/fs/cgroup"});
  const std::string json = record.ToJson();
  EXPECT_THAT(json, HasSubstr("\"cgroup\":null"));
  EXPECT_THAT(json, HasSubstr("\"chaos\":null"));
  EXPECT_THAT(json, HasSubstr("\"sched\":null"));
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

TEST(FindAppliedRecord, TakesTheLastRecordTheOneWithCounters) {
  AppliedRecord after = FullRecord();
  after.chaos->counters = ChaosCounters{};
  after.chaos->counters->stalls = 3;
  const std::string log =
      absl::StrCat(kRecordTag, FullRecord().ToJson(), "\n", "test output\n",
                   kRecordTag, after.ToJson(), "\n");
  std::optional<AppliedRecord> record = FindAppliedRecord(log);
  ASSERT_TRUE(record.has_value());
  ASSERT_TRUE(record->chaos->counters.has_value());
  EXPECT_EQ(record->chaos->counters->stalls, 3u);
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
