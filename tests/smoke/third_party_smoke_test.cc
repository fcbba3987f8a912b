// Calls each library that flaky takes from Debian's packages once, so that a
// missing package or a wrong link flag in third_party/ fails with the
// library's name instead of deep inside a feature's test.

#include <sqlite3.h>
#include <zip.h>

#include <memory>
#include <string>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"
#include "pugixml.hpp"

namespace {

TEST(ThirdPartySmoke, AbseilStatusAndStrings) {
  absl::StatusOr<int> value = absl::NotFoundError("missing");
  EXPECT_EQ(value.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(absl::StrCat("run_", 3, "_of_", 10), "run_3_of_10");
  absl::Mutex mutex;
  absl::MutexLock lock(&mutex);
  EXPECT_EQ(absl::FormatDuration(absl::Milliseconds(5)), "5ms");
  absl::BitGen gen(std::seed_seq{42});
  EXPECT_LT(absl::Uniform(gen, 0, 10), 10);
}

TEST(ThirdPartySmoke, NlohmannJsonParsesABepLine) {
  auto event = nlohmann::json::parse(
      R"({"id":{"testResult":{"label":"//a:b","run":2}},"testResult":{"status":"PASSED"}})");
  EXPECT_EQ(event["id"]["testResult"]["run"].get<int>(), 2);
  EXPECT_EQ(event["testResult"]["status"].get<std::string>(), "PASSED");
}

TEST(ThirdPartySmoke, PugixmlParsesAJunitFile) {
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(
      R"(<testsuites><testsuite name="S"><testcase name="C"/></testsuite></testsuites>)"));
  EXPECT_STREQ(doc.select_node("//testcase").node().attribute("name").value(), "C");
}

TEST(ThirdPartySmoke, SqliteRunsAQuery) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
  char* error = nullptr;
  EXPECT_EQ(sqlite3_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES (1);",
                         nullptr, nullptr, &error),
            SQLITE_OK);
  sqlite3_free(error);
  sqlite3_close(db);
}

TEST(ThirdPartySmoke, PrometheusCppSerializesACounter) {
  auto registry = std::make_shared<prometheus::Registry>();
  auto& family = prometheus::BuildCounter()
                     .Name("flaky_smoke_total")
                     .Help("smoke")
                     .Register(*registry);
  family.Add({{"outcome", "pass"}}).Increment();
  const std::string text =
      prometheus::TextSerializer().Serialize(registry->Collect());
  EXPECT_NE(text.find("flaky_smoke_total{outcome=\"pass\"} 1"),
            std::string::npos);
}

TEST(ThirdPartySmoke, LibzipReportsAMissingArchive) {
  int error = 0;
  zip_t* archive = zip_open("/nonexistent/outputs.zip", ZIP_RDONLY, &error);
  EXPECT_EQ(archive, nullptr);
  EXPECT_EQ(error, ZIP_ER_NOENT);
}

}  // namespace
