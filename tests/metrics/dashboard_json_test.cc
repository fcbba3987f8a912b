// Structural checks of the Grafana dashboard that no Prometheus query can
// catch: the schema version, unique panel ids, every query going through
// the ${datasource} variable, the template variables the README promises,
// and panels that do not overlap on the grid. (Grafana itself has no
// Debian package; dashboard_integration_test runs every query for real.)
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace flaky::metrics {
namespace {

using ::nlohmann::json;

json LoadDashboard() {
  const std::string path = absl::StrCat(std::getenv("TEST_SRCDIR"), "/",
                                        std::getenv("TEST_WORKSPACE"),
                                        "/dashboards/grafana/flaky.json");
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return json::parse(text.str());
}

TEST(Dashboard, UsesACurrentSchemaAndAStableUid) {
  const json d = LoadDashboard();
  EXPECT_GE(d["schemaVersion"].get<int>(), 39);
  EXPECT_EQ(d["uid"], "flaky-overview");
}

TEST(Dashboard, HasTheDatasourceTargetProfileAndFixVariables) {
  const json d = LoadDashboard();
  std::set<std::string> names;
  for (const json& v : d["templating"]["list"]) {
    names.insert(v["name"].get<std::string>());
    if (v["name"] == "datasource") {
      EXPECT_EQ(v["type"], "datasource");
      EXPECT_EQ(v["query"], "prometheus");
    }
  }
  EXPECT_EQ(names, (std::set<std::string>{"datasource", "target", "profile",
                                          "baseline", "candidate"}));
}

TEST(Dashboard, EveryQueryGoesThroughTheDatasourceVariable) {
  const json d = LoadDashboard();
  std::set<int> ids;
  for (const json& panel : d["panels"]) {
    const std::string title = panel["title"];
    EXPECT_TRUE(ids.insert(panel["id"].get<int>()).second) << "duplicate id: " << title;
    EXPECT_EQ(panel["datasource"]["uid"], "${datasource}") << title;
    ASSERT_FALSE(panel["targets"].empty()) << title;
    std::set<std::string> ref_ids;
    for (const json& target : panel["targets"]) {
      EXPECT_EQ(target["datasource"]["uid"], "${datasource}") << title;
      EXPECT_FALSE(target["expr"].get<std::string>().empty()) << title;
      EXPECT_FALSE(target["legendFormat"].get<std::string>().empty()) << title;
      EXPECT_TRUE(ref_ids.insert(target["refId"].get<std::string>()).second) << title;
    }
  }
}

TEST(Dashboard, PanelsDoNotOverlapOnTheGrid) {
  const json d = LoadDashboard();
  std::set<std::pair<int, int>> cells;  // (x, y) of each occupied grid cell
  for (const json& panel : d["panels"]) {
    const json& g = panel["gridPos"];
    const int x = g["x"], y = g["y"], w = g["w"], h = g["h"];
    EXPECT_LE(x + w, 24) << panel["title"];
    for (int i = x; i < x + w; ++i) {
      for (int j = y; j < y + h; ++j) {
        EXPECT_TRUE(cells.insert({i, j}).second)
            << panel["title"] << " overlaps another panel at (" << i << ", " << j << ")";
      }
    }
  }
}

TEST(Dashboard, HasThePanelsTheIssueAsksFor) {
  const json d = LoadDashboard();
  std::set<std::string> titles;
  for (const json& panel : d["panels"]) titles.insert(panel["title"].get<std::string>());
  for (const char* title :
       {"Flake rate with its confidence interval", "Flake rate per profile (amplification)",
        "Trials per outcome", "Top flaky targets", "Verdicts", "Runs since last failure",
        "Fix verification: baseline vs candidate"}) {
    EXPECT_EQ(titles.count(title), 1u) << title;
  }
}

}  // namespace
}  // namespace flaky::metrics
