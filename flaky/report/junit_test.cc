#include "flaky/report/junit.h"

#include <string>

#include "base/status_matchers.h"
#include "flaky/report/sample_report.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pugixml.hpp"

namespace flaky::report {
namespace {

using ::flaky::testing::IsOk;
using ::testing::HasSubstr;

class RenderJUnitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::string> xml = RenderJUnit(SampleReport());
    ASSERT_THAT(xml, IsOk());
    xml_ = *xml;
    const pugi::xml_parse_result result = doc_.load_string(xml_.c_str());
    ASSERT_TRUE(result) << result.description() << " at " << result.offset;
  }

  pugi::xml_node TestCase(const std::string& classname, const std::string& name) {
    return doc_
        .select_node(("//testcase[@classname='" + classname + "' and @name='" + name + "']")
                         .c_str())
        .node();
  }

  std::string xml_;
  pugi::xml_document doc_;
};

TEST_F(RenderJUnitTest, CountsTestsFailuresAndSkips) {
  const pugi::xml_node suite = doc_.select_node("/testsuites/testsuite").node();
  ASSERT_TRUE(suite);
  EXPECT_EQ(suite.attribute("tests").as_int(), 6);
  EXPECT_EQ(suite.attribute("failures").as_int(), 2);
  EXPECT_EQ(suite.attribute("skipped").as_int(), 3);
  EXPECT_EQ(suite.attribute("errors").as_int(), 0);
  EXPECT_STREQ(suite.attribute("timestamp").value(), "2026-11-27T16:00:00");
  EXPECT_STREQ(suite.attribute("hostname").value(), "ci-worker-7");
  EXPECT_EQ(doc_.select_nodes("//testcase").size(), 6u);
  EXPECT_EQ(doc_.select_nodes("//testcase/failure").size(), 2u);
  EXPECT_EQ(doc_.select_nodes("//testcase/skipped").size(), 3u);
}

TEST_F(RenderJUnitTest, FlakyIsAFailureWithTheEvidence) {
  const pugi::xml_node testcase =
      TestCase("//tests/race:already_running_original", "chaos:7");
  ASSERT_TRUE(testcase);
  EXPECT_DOUBLE_EQ(testcase.attribute("time").as_double(), 20.0);
  const pugi::xml_node failure = testcase.child("failure");
  ASSERT_TRUE(failure);
  EXPECT_STREQ(failure.attribute("type").value(), "FLAKY");
  EXPECT_THAT(failure.attribute("message").value(),
              HasSubstr("FLAKY: AlreadyRunning.Original: 37 of 500 runs failed"));
  EXPECT_THAT(failure.text().get(), HasSubstr("30x AlreadyRunning.Original: RuntimeError "
                                              "not raised\n    first failing run 12, seed "
                                              "18446744073709551557"));
  // The signature with markup survives the round trip as text.
  EXPECT_THAT(failure.text().get(), HasSubstr("unrecognized interpreter ID <N> | thread"));
  EXPECT_STREQ(
      testcase.select_node("properties/property[@name='verdict']").node().attribute("value")
          .value(),
      "FLAKY");
  EXPECT_STREQ(
      testcase.select_node("properties/property[@name='failures']").node().attribute("value")
          .value(),
      "37");
}

TEST_F(RenderJUnitTest, InconclusiveIsSkippedAndCleanPasses) {
  const pugi::xml_node inconclusive =
      TestCase("//tests/race:already_running_fixed", "none");
  ASSERT_TRUE(inconclusive);
  EXPECT_THAT(inconclusive.child("skipped").attribute("message").value(),
              HasSubstr("INCONCLUSIVE: AlreadyRunning.Fixed: 0 of 500 runs failed"));
  EXPECT_FALSE(inconclusive.child("failure"));
  const pugi::xml_node clean = TestCase("//tests/race:already_running_fixed", "chaos:7");
  ASSERT_TRUE(clean);
  EXPECT_FALSE(clean.child("failure"));
  EXPECT_FALSE(clean.child("skipped"));
  EXPECT_THAT(clean.child_value("system-out"), HasSubstr("rate below 0.098% at 95%"));
}

TEST_F(RenderJUnitTest, HoldsNoCharacterXmlForbids) {
  EXPECT_EQ(xml_.find('\x1b'), std::string::npos);
  EXPECT_EQ(xml_.find('\xff'), std::string::npos);
}

TEST(RenderJUnit, AnEmptyReportIsAValidEmptySuite) {
  absl::StatusOr<std::string> xml = RenderJUnit(Report{});
  ASSERT_THAT(xml, IsOk());
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(xml->c_str()));
  EXPECT_EQ(doc.select_node("/testsuites/testsuite").node().attribute("tests").as_int(), 0);
}

}  // namespace
}  // namespace flaky::report
