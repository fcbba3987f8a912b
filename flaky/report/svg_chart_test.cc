#include "flaky/report/svg_chart.h"

#include <cstdlib>
#include <string>
#include <vector>

#include "base/status_matchers.h"
#include "flaky/report/sample_report.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pugixml.hpp"

namespace flaky::report {
namespace {

using ::flaky::testing::IsOk;
using ::testing::HasSubstr;

pugi::xml_node Parse(pugi::xml_document& doc, const std::string& svg) {
  const pugi::xml_parse_result result = doc.load_string(svg.c_str());
  EXPECT_TRUE(result) << result.description() << " at offset " << result.offset;
  return doc.document_element();
}

TEST(RenderRateChart, IsAWellFormedSelfContainedSvg) {
  absl::StatusOr<std::string> svg = RenderRateChart(SampleReport());
  ASSERT_THAT(svg, IsOk());
  pugi::xml_document doc;
  pugi::xml_node root = Parse(doc, *svg);
  EXPECT_STREQ(root.name(), "svg");
  EXPECT_STREQ(root.attribute("xmlns").value(), "http://www.w3.org/2000/svg");
  EXPECT_GT(root.attribute("width").as_double(), 0);
  EXPECT_GT(root.attribute("height").as_double(), 0);
  // Nothing external: no links, scripts, images or foreign objects.
  EXPECT_TRUE(doc.select_nodes("//script | //image | //foreignObject | //a").empty());
  EXPECT_THAT(*svg, ::testing::Not(HasSubstr("href")));
}

TEST(RenderRateChart, DrawsOneBarAndWhiskerPerRowScaledToTheAxis) {
  const Report report = SampleReport();
  absl::StatusOr<std::string> svg = RenderRateChart(report);
  ASSERT_THAT(svg, IsOk());
  pugi::xml_document doc;
  Parse(doc, *svg);
  const pugi::xpath_node_set bars = doc.select_nodes("/svg/g");
  ASSERT_EQ(bars.size(), report.rows.size());
  // Axis: 0% at x=320, the nice maximum 20% (rates reach 12.07%) at x=700.
  const pugi::xml_node chaos = bars[1].node();
  EXPECT_THAT(chaos.child_value("title"),
              HasSubstr("[chaos:7]: 37 of 500 runs, 7.4% [4.2%, 12.1%], FLAKY"));
  EXPECT_NEAR(chaos.child("rect").attribute("width").as_double(), 380 * 0.074 / 0.2, 0.06);
  EXPECT_STREQ(chaos.child("rect").attribute("fill").value(), "#d73a49");
  const std::string whisker = chaos.child("path").attribute("d").value();
  EXPECT_EQ(whisker.rfind("M401.0 100.0 H549.4", 0), 0u) << whisker;  // 4.27% .. 12.07%
  // A clean row has a zero-width bar, its whisker up to the upper bound,
  // and the clean colour.
  const pugi::xml_node fixed = bars[4].node();
  EXPECT_EQ(fixed.child("rect").attribute("width").as_double(), 0.0);
  EXPECT_STREQ(fixed.child("rect").attribute("fill").value(), "#2da44e");
  // The max-rate line is drawn at 0.1%.
  EXPECT_FALSE(doc.select_nodes("/svg/line[@stroke-dasharray]").empty());
  EXPECT_THAT(*svg, HasSubstr(">max 0.1%</text>"));
}

TEST(RenderRateChart, EscapesLabels) {
  Report report = SampleReport();
  report.rows[0].profile = "env:K=<v&\"x\">";
  report.title = "a < b";
  absl::StatusOr<std::string> svg = RenderRateChart(report);
  ASSERT_THAT(svg, IsOk());
  pugi::xml_document doc;
  Parse(doc, *svg);
  EXPECT_STREQ(doc.select_node("/svg/g/text").node().child_value(), "env:K=<v&\"x\">");
}

TEST(RenderRateChart, SaysSoWhenThereIsNothingToChart) {
  Report report;
  absl::StatusOr<std::string> svg = RenderRateChart(report);
  ASSERT_THAT(svg, IsOk());
  pugi::xml_document doc;
  Parse(doc, *svg);
  EXPECT_THAT(*svg, HasSubstr("no trials to chart"));
}

TEST(NiceAxisMax, RoundsUpToOneTwoOrFive) {
  EXPECT_DOUBLE_EQ(NiceAxisMax(0.1003), 0.2);
  EXPECT_DOUBLE_EQ(NiceAxisMax(0.0015), 0.002);
  EXPECT_DOUBLE_EQ(NiceAxisMax(0.003), 0.005);
  EXPECT_DOUBLE_EQ(NiceAxisMax(0.5), 0.5);
  EXPECT_DOUBLE_EQ(NiceAxisMax(0.7), 1.0);
}

}  // namespace
}  // namespace flaky::report
