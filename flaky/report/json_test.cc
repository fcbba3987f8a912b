#include "flaky/report/json.h"

#include <cmath>
#include <string>

#include "base/status_matchers.h"
#include "flaky/report/sample_report.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace flaky::report {
namespace {

using ::flaky::testing::IsOk;
using ::testing::HasSubstr;
using nlohmann::json;

json ParsedSample() {
  absl::StatusOr<std::string> text = RenderJson(SampleReport());
  EXPECT_THAT(text, IsOk());
  return json::parse(text.ok() ? *text : "{}");
}

TEST(RenderJson, ParsesBackWithTheSchemaVersionAndMetadata) {
  const json doc = ParsedSample();
  EXPECT_EQ(doc["schema_version"], kSchemaVersion);
  EXPECT_EQ(doc["title"], "bpo-37224: run_string while already running");
  EXPECT_EQ(doc["metadata"]["mode"], "bazel_runs");
  EXPECT_EQ(doc["metadata"]["date"], "2026-11-27T16:00:00+00:00");
  EXPECT_EQ(doc["metadata"]["max_rate"], 0.001);
  EXPECT_EQ(doc["metadata"]["rule"], "anytime");
  EXPECT_EQ(doc["gate"]["verdict"], "FLAKY");
  EXPECT_EQ(doc["gate"]["exit_code"], 1);
}

TEST(RenderJson, RowsCarryRatesIntervalsAndSignatures) {
  const json doc = ParsedSample();
  ASSERT_EQ(doc["rows"].size(), 6u);
  const json& chaos = doc["rows"][1];
  EXPECT_EQ(chaos["profile"], "chaos:7");
  EXPECT_EQ(chaos["trials"], 500);
  EXPECT_EQ(chaos["failures"], 37);
  EXPECT_DOUBLE_EQ(chaos["rate"].get<double>(), 0.074);
  // Anytime 95% bounds of 37/500, reference_values.py.
  EXPECT_NEAR(chaos["interval"]["low"].get<double>(), 4.26502960256790568e-2, 1e-12);
  EXPECT_NEAR(chaos["interval"]["high"].get<double>(), 1.20711609079746551e-1, 1e-12);
  EXPECT_EQ(chaos["interval"]["method"], "anytime");
  EXPECT_EQ(chaos["verdict"], "FLAKY");
  EXPECT_EQ(chaos["amplification"]["kind"], "estimate");
  EXPECT_DOUBLE_EQ(chaos["amplification"]["ratio"].get<double>(), 18.5);
  EXPECT_EQ(chaos["by_outcome"]["fail"], 37);
  EXPECT_NEAR(chaos["runs_per_failure"]["expected"].get<double>(), 500.0 / 37, 1e-12);
  EXPECT_NEAR(chaos["runs_per_failure"]["low"].get<double>(),
              1 / 1.20711609079746551e-1, 1e-9);
  EXPECT_TRUE(doc["rows"][4]["runs_per_failure"]["expected"].is_null());  // inf -> null
  EXPECT_EQ(chaos["signatures"][0]["seed"], "18446744073709551557");
  EXPECT_EQ(chaos["signatures"][0]["first_log_path"], "/out/logs/original/chaos/run_12.log");
  // Invalid UTF-8 and ANSI escapes from the log were replaced, not dropped.
  EXPECT_THAT(chaos["signatures"][1]["signature"].get<std::string>(),
              HasSubstr("\xEF\xBF\xBD[31mThread-8"));
  EXPECT_TRUE(doc["rows"][0]["amplification"].is_null());  // `none` itself
  EXPECT_TRUE(doc["rows"][0]["signatures"][0]["seed"].is_null());
  EXPECT_EQ(doc["rows"][4]["amplification"]["kind"], "undefined");
  EXPECT_TRUE(doc["rows"][4]["amplification"]["ratio"].is_null());  // NaN -> null
  EXPECT_TRUE(doc["rows"][4]["trials_to_first_failure"].is_null());
}

TEST(RenderJson, VerdictsAndFixVerificationsAreComplete) {
  const json doc = ParsedSample();
  ASSERT_EQ(doc["verdicts"].size(), 6u);
  EXPECT_EQ(doc["verdicts"][4]["verdict"], "CLEAN");
  EXPECT_EQ(doc["verdicts"][4]["cases"][0]["test_case"], "AlreadyRunning.Fixed");
  // The one-sided anytime bound of 0/3400, reference_values.py.
  EXPECT_NEAR(doc["verdicts"][4]["cases"][0]["upper_bound"].get<double>(),
              9.79800911915914639e-4, 1e-14);
  ASSERT_EQ(doc["fix_verifications"].size(), 1u);
  const json& fix = doc["fix_verifications"][0];
  EXPECT_EQ(fix["decided"], true);
  EXPECT_TRUE(fix["more_candidate_runs"].is_null());
  EXPECT_LT(fix["p_value"].get<double>(), 1e-30);
  EXPECT_EQ(fix["candidate_trials"], 3400);
}

}  // namespace
}  // namespace flaky::report
