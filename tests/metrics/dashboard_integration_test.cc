// End to end: flaky's metrics reach a real Prometheus through both ways a
// deployment uses (a pull endpoint it scrapes, as `flaky serve` offers, and
// a hunt pushing to a real Pushgateway), and then every panel query and
// template variable of the Grafana dashboard and every recording and
// alerting rule runs through Prometheus's HTTP API and must return data
// with the labels its legend names. A query returning nothing fails.
//
// The trials come from a seeded, deterministic "hunt" of the bpo-37224 race
// tests (original and fixed) under three profiles, stored in a real SQLite
// store; rates, intervals, amplification and verdicts are computed with
// flaky's stats library from the store's summaries. The
// fixed test is first verified CLEAN and then regresses under chaos:7, so
// that both alerts (turned FLAKY, fix regressed) have something to fire on.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "base/status_macros.h"
#include "base/status_matchers.h"
#include "flaky/metrics/assess.h"
#include "flaky/metrics/exporter.h"
#include "flaky/metrics/metrics.h"
#include "flaky/metrics/testing/http.h"
#include "flaky/metrics/testing/server_process.h"
#include "flaky/results/store.h"
#include "flaky/results/summary.h"
#include "flaky/results/trial.h"
#include "flaky/stats/binomial.h"
#include "flaky/stats/compare.h"
#include "flaky/stats/verdict.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace flaky::metrics {
namespace {

using ::flaky::metrics::testing::HttpGet;
using ::flaky::metrics::testing::PollUntil;
using ::flaky::metrics::testing::PushgatewaySpec;
using ::flaky::metrics::testing::ServerProcess;
using ::flaky::metrics::testing::ServerSpec;
using ::flaky::metrics::testing::UrlEncode;
using ::flaky::testing::IsOk;
using ::nlohmann::json;

constexpr char kOriginal[] = "//tests/race:already_running_original";
constexpr char kFixed[] = "//tests/race:already_running_fixed";
constexpr char kRaceCase[] = "RunStringTest.AlreadyRunning";
constexpr char kBasicCase[] = "RunStringTest.Basic";
constexpr absl::Duration kDeadline = absl::Seconds(90);

std::string Runfile(const std::string& path) {
  return absl::StrCat(std::getenv("TEST_SRCDIR"), "/", std::getenv("TEST_WORKSPACE"),
                      "/", path);
}

std::string TmpPath(const std::string& name) {
  return absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

constexpr char kHuntId[] = "integration-hunt-1";

// A seeded stand-in for `flaky hunt`: trials go live into the exporter's
// metrics and, one batch per call, into a real SQLite store, as the runner
// does after each Bazel run.
class Hunt {
 public:
  Hunt(FlakyMetrics& live, std::unique_ptr<results::Store> store)
      : live_(live), store_(std::move(store)) {}

  // Run executes `n` trials of one case failing with probability `p`.
  void Run(const std::string& target, const std::string& test_case,
           const std::string& profile, double p, int n) {
    std::vector<results::Trial> batch;
    for (int i = 0; i < n; ++i) {
      results::Trial trial;
      trial.hunt_id = kHuntId;
      trial.target = target;
      trial.test_case = test_case;
      trial.profile = profile;
      trial.run = ++runs_;
      trial.started_at = absl::FromUnixSeconds(1795800000) + absl::Milliseconds(runs_);
      // 53 random bits as a uniform double in [0, 1): the same sequence on
      // every standard library, unlike std::uniform_real_distribution.
      const double u = static_cast<double>(Next() >> 11) * 0x1.0p-53;
      trial.outcome = u < p ? results::Outcome::kFail : results::Outcome::kPass;
      trial.duration = absl::Milliseconds(20 + static_cast<int64_t>(Next() % 400));
      EXPECT_THAT(live_.RecordTrial(trial), IsOk());
      batch.push_back(trial);
    }
    EXPECT_THAT(store_->InsertTrials(batch), IsOk());
  }

  // Summarize is what the hunt's final report and push are made of.
  std::vector<results::CaseSummary> Summarize() {
    results::Filter filter;
    filter.hunt_ids = {kHuntId};
    absl::StatusOr<std::vector<results::CaseSummary>> summaries = store_->Summarize(filter);
    EXPECT_THAT(summaries, IsOk());
    return summaries.ok() ? *summaries : std::vector<results::CaseSummary>();
  }

 private:
  // splitmix64: tiny, seeded, identical everywhere.
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  FlakyMetrics& live_;
  std::unique_ptr<results::Store> store_;  // used on the test's thread only
  uint64_t state_ = 37224;
  int runs_ = 0;
};

// Judged computes what flaky's stats say about the summaries, as a hunt's
// and `flaky serve`'s metrics do (metrics::Assess): the rate interval and
// amplification per case, and the gate's verdict per (target, profile)
// (max rate 1% at 95%: 299 clean runs of every case make it CLEAN).
Assessments Judged(const std::vector<results::CaseSummary>& summaries) {
  stats::GateOptions gate;
  gate.max_rate = 0.01;
  gate.confidence = 0.95;
  absl::StatusOr<Assessments> assessments = Assess(summaries, gate);
  EXPECT_THAT(assessments, IsOk());
  return assessments.ok() ? *assessments : Assessments();
}

// Prometheus's /api/v1/query answer for `query` at now.
absl::StatusOr<json> Query(const ServerProcess& prometheus, const std::string& query) {
  absl::StatusOr<testing::HttpResponse> response = HttpGet(
      absl::StrCat(prometheus.url(), "/api/v1/query?query=", UrlEncode(query)));
  if (!response.ok()) return response.status();
  json body = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (response->code != 200 || body.is_discarded() || body.value("status", "") != "success") {
    return absl::InvalidArgumentError(
        absl::StrCat("query ", query, " failed: HTTP ", response->code, " ", response->body));
  }
  return body["data"]["result"];
}

// Word characters before position `end` of `text` (a label or variable
// name ends there).
std::string WordBefore(absl::string_view text, size_t end) {
  size_t begin = end;
  while (begin > 0 && (absl::ascii_isalnum(text[begin - 1]) || text[begin - 1] == '_')) {
    --begin;
  }
  return std::string(text.substr(begin, end - begin));
}

// Word characters from position `begin` of `text`.
std::string WordAt(absl::string_view text, size_t begin) {
  size_t end = begin;
  while (end < text.size() && (absl::ascii_isalnum(text[end]) || text[end] == '_')) ++end;
  return std::string(text.substr(begin, end - begin));
}

// Labels a legend format names: "{{target}} {{profile}}" -> target, profile.
// (Plain scanning: GCC 12 warns inside <regex> under -O1, which -Werror and
// --config=asan turn into a build failure.)
std::set<std::string> LegendLabels(const std::string& legend) {
  std::set<std::string> labels;
  for (size_t open = legend.find("{{"); open != std::string::npos;
       open = legend.find("{{", open + 2)) {
    const size_t close = legend.find("}}", open);
    if (close == std::string::npos) break;
    labels.insert(std::string(
        absl::StripAsciiWhitespace(legend.substr(open + 2, close - open - 2))));
  }
  return labels;
}

// Exact matchers on a variable: target="$baseline" -> {target: baseline}.
std::map<std::string, std::string> ExactVariableMatchers(const std::string& query) {
  std::map<std::string, std::string> out;
  for (size_t at = query.find("=\"$"); at != std::string::npos;
       at = query.find("=\"$", at + 3)) {
    if (at > 0 && (query[at - 1] == '~' || query[at - 1] == '!')) continue;
    out[WordBefore(query, at)] = WordAt(query, at + 3);
  }
  return out;
}

// Checks one query result: non-empty, every series carries `labels` and the
// `exact` label values, and at least one sample is a number (a rate over a
// window with no change is NaN for some series, never for all).
bool CheckResult(const json& result, const std::set<std::string>& labels,
                 const std::map<std::string, std::string>& exact, std::string* note) {
  if (!result.is_array() || result.empty()) {
    *note = "no data";
    return false;
  }
  bool any_number = false;
  for (const json& series : result) {
    const json& metric = series["metric"];
    for (const std::string& label : labels) {
      if (!metric.contains(label)) {
        *note = absl::StrCat("series ", metric.dump(), " lacks label ", label);
        return false;
      }
    }
    for (const auto& [label, value] : exact) {
      if (metric.value(label, "") != value) {
        *note = absl::StrCat("series ", metric.dump(), " has ", label, " != ", value);
        return false;
      }
    }
    const std::string value = series["value"][1].get<std::string>();
    if (value != "NaN") any_number = true;
  }
  if (!any_number) *note = absl::StrCat("only NaN: ", result.dump());
  return any_number;
}

class DashboardIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dashboard_ = json::parse(ReadFile(Runfile("dashboards/grafana/flaky.json")));
    ASSERT_TRUE(dashboard_.contains("panels"));
    for (const json& variable : dashboard_["templating"]["list"]) {
      const std::string name = variable["name"];
      if (variable["type"] == "query") {
        variables_[name] = variable.value("allValue", std::string(".*"));  // "All" selected
      } else if (variable["type"] == "textbox") {
        variables_[name] = variable["current"]["value"].get<std::string>();
      }
    }
    variables_["__rate_interval"] = "1m";

    // The pushing side: a hunt's live metrics, pushed to a Pushgateway.
    auto started_gateway =
        ServerProcess::Start(PushgatewaySpec(TmpPath("pushgateway.log")));
    ASSERT_THAT(started_gateway, IsOk()) << "install Debian's prometheus-pushgateway";
    gateway_ = std::move(started_gateway).value();

    // The pushing side: a hunt's exporter, as `flaky hunt --pushgateway`.
    ExportOptions options;
    options.metrics.version = "integration";
    options.metrics.commit = "d218be9";
    options.pushgateway_url = gateway_->url();
    options.instance = "ci-worker-1";
    options.push_interval = absl::Milliseconds(500);
    auto exporter = HuntExporter::Start(options);
    ASSERT_THAT(exporter, IsOk());
    exporter_ = std::move(exporter).value();
    const std::string db = TmpPath("flaky.db");
    results::StoreOptions store_options;
    store_options.keep_logs = false;
    auto hunt_store = results::Store::Open(db, store_options);
    ASSERT_THAT(hunt_store, IsOk());
    results::HuntRecord record;
    record.id = kHuntId;
    record.commit = "d218be9";
    record.profiles = {"none", "chaos:7", "hogs:2"};
    record.mode = "bazel_runs";
    ASSERT_THAT((*hunt_store)->BeginHunt(record), IsOk());
    hunt_ = std::make_unique<Hunt>(exporter_->metrics(), std::move(hunt_store).value());

    // The pulled side: `flaky serve`, answering each scrape from its own
    // connection to the same store (a Store is per thread).
    auto serve_store = results::Store::Open(db, store_options);
    ASSERT_THAT(serve_store, IsOk());
    serve_store_ = std::move(serve_store).value();
    auto server = StoreServer::Start("127.0.0.1:0", options.metrics,
                                     [this]() -> absl::StatusOr<Snapshot> {
                                       Snapshot snapshot;
                                       FLAKY_ASSIGN_OR_RETURN(snapshot.summaries,
                                                              serve_store_->Summarize({}));
                                       snapshot.assessments = SerialAssess(snapshot.summaries);
                                       return snapshot;
                                     });
    ASSERT_THAT(server, IsOk());
    server_ = std::move(server).value();

    const std::string config = TmpPath("prometheus.yml");
    std::ofstream(config) << absl::StrCat(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n",
        "rule_files:\n",
        "  - ", Runfile("dashboards/prometheus/recording_rules.yml"), "\n",
        "  - ", Runfile("dashboards/prometheus/alerting_rules.yml"), "\n",
        "scrape_configs:\n",
        "  - job_name: flaky_serve\n    static_configs:\n",
        "      - targets: ['127.0.0.1:", server_->port(), "']\n",
        "  - job_name: pushgateway\n    honor_labels: true\n    static_configs:\n",
        "      - targets: ['127.0.0.1:", gateway_->port(), "']\n");
    ServerSpec spec;
    spec.binary = "/usr/bin/prometheus";
    spec.args = {"--config.file=" + config,
                 "--storage.tsdb.path=" + TmpPath("tsdb"),
                 "--web.listen-address=127.0.0.1:{PORT}"};
    spec.log_path = TmpPath("prometheus.log");
    auto started = ServerProcess::Start(spec);
    ASSERT_THAT(started, IsOk()) << "install Debian's prometheus";
    prometheus_ = std::move(started).value();
  }

  void TearDown() override {
    if (exporter_ != nullptr) {
      std::vector<results::CaseSummary> summaries = hunt_->Summarize();
      EXPECT_THAT(exporter_->Finish(summaries, SerialAssess(summaries)), IsOk());
    }
    // Servers are stopped and reaped by their destructors, failure or not.
  }

  // UpdateGauges brings the hunt's gauges up to date; the next periodic
  // push carries them.
  void UpdateGauges() {
    std::vector<results::CaseSummary> summaries = hunt_->Summarize();
    ASSERT_THAT(exporter_->metrics().UpdateSummaries(summaries, SerialAssess(summaries)), IsOk());
  }

  // WaitFor polls `query` until it returns `count` series (from the serve
  // job and the Pushgateway job), keeping the hunt going meanwhile so the
  // rate windows never go flat.
  absl::Status WaitFor(const std::string& what, const std::string& query, size_t count) {
    return PollUntil(what, kDeadline, [&](std::string* note) {
      KeepHunting();
      absl::StatusOr<json> result = Query(*prometheus_, query);
      if (!result.ok()) {
        *note = std::string(result.status().message());
        return false;
      }
      *note = result->dump();
      return result->size() == count;
    });
  }

  void KeepHunting() {
    hunt_->Run(kOriginal, kRaceCase, "none", 0.01, 5);
    hunt_->Run(kFixed, kRaceCase, "none", 0, 5);
  }

  // SerialAssess runs Assess one caller at a time. flaky/stats calls
  // std::lgamma, which writes the global `signgam` (ThreadSanitizer reports
  // it when the serve thread and the test thread both judge); remove once
  // stats uses lgamma_r.
  Assessments SerialAssess(const std::vector<results::CaseSummary>& summaries) {
    std::lock_guard<std::mutex> lock(stats_mutex_);
    return Judged(summaries);
  }

  std::string Substitute(const std::string& query) const {
    std::vector<std::pair<std::string, std::string>> replacements;
    for (const auto& [name, value] : variables_) {
      replacements.emplace_back("${" + name + "}", value);
      replacements.emplace_back("$" + name, value);
    }
    // Longest names first so "$target" does not eat "$targets".
    std::sort(replacements.begin(), replacements.end(),
              [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
    return absl::StrReplaceAll(query, replacements);
  }

  json dashboard_;
  std::map<std::string, std::string> variables_;
  std::mutex stats_mutex_;
  std::unique_ptr<ServerProcess> gateway_;
  std::unique_ptr<ServerProcess> prometheus_;
  // server_ reads serve_store_ on its own thread: declared after it,
  // destroyed before.
  std::unique_ptr<Hunt> hunt_;
  std::unique_ptr<HuntExporter> exporter_;
  std::unique_ptr<results::Store> serve_store_;
  std::unique_ptr<StoreServer> server_;
};

TEST_F(DashboardIntegrationTest, EveryPanelQueryAndRuleReturnsLabelledData) {
  // Phase 1: the original test races under every profile, its fix does not.
  // 400 clean runs of a case are enough for the gate to say CLEAN.
  const std::map<std::string, double> original_rates = {
      {"none", 0.01}, {"chaos:7", 0.2}, {"hogs:2", 0.08}};
  for (const auto& [profile, p] : original_rates) {
    hunt_->Run(kOriginal, kRaceCase, profile, p, 400);
    hunt_->Run(kOriginal, kBasicCase, profile, 0, 400);
    hunt_->Run(kFixed, kRaceCase, profile, 0, 400);
    hunt_->Run(kFixed, kBasicCase, profile, 0, 400);
  }
  UpdateGauges();
  ASSERT_THAT(WaitFor("the fix verified CLEAN in Prometheus, pulled and pushed",
                      absl::StrCat("flaky_verdict_state{target=\"", kFixed,
                                   "\",profile=\"chaos:7\",verdict=\"clean\"} == 1"),
                      2),
              IsOk());

  // Phase 2: the fix regresses under chaos:7.
  hunt_->Run(kFixed, kRaceCase, "chaos:7", 0.3, 100);
  UpdateGauges();
  ASSERT_THAT(WaitFor("the regressed fix FLAKY in Prometheus, pulled and pushed",
                      absl::StrCat("flaky_verdict_state{target=\"", kFixed,
                                   "\",profile=\"chaos:7\",verdict=\"flaky\"} == 1"),
                      2),
              IsOk());

  // Every panel query, with the dashboard's template variables substituted.
  int queries = 0;
  for (const json& panel : dashboard_["panels"]) {
    for (const json& target : panel["targets"]) {
      const std::string raw = target["expr"];
      const std::string query = Substitute(raw);
      const std::set<std::string> labels = LegendLabels(target.value("legendFormat", ""));
      std::map<std::string, std::string> exact;
      for (const auto& [label, variable] : ExactVariableMatchers(raw)) {
        exact[label] = variables_.at(variable);
      }
      ++queries;
      EXPECT_THAT(PollUntil(absl::StrCat("panel \"", panel["title"].get<std::string>(),
                                         "\" query ", query, " to return data"),
                            kDeadline,
                            [&](std::string* note) {
                              KeepHunting();
                              absl::StatusOr<json> result = Query(*prometheus_, query);
                              if (!result.ok()) {
                                *note = std::string(result.status().message());
                                return false;
                              }
                              return CheckResult(*result, labels, exact, note);
                            }),
                  IsOk());
    }
  }
  EXPECT_GE(queries, 11);

  // Template variables: label_values(SELECTOR, LABEL) through the label API.
  for (const json& variable : dashboard_["templating"]["list"]) {
    if (variable["type"] != "query") continue;
    const std::string definition = variable["definition"];
    const size_t comma = definition.rfind(',');
    ASSERT_TRUE(absl::StartsWith(definition, "label_values(") &&
                absl::EndsWith(definition, ")") && comma != std::string::npos)
        << definition;
    const std::string selector = definition.substr(13, comma - 13);
    const std::string label = std::string(absl::StripAsciiWhitespace(
        definition.substr(comma + 1, definition.size() - comma - 2)));
    const std::string url = absl::StrCat(prometheus_->url(), "/api/v1/label/", label,
                                         "/values?match[]=", UrlEncode(Substitute(selector)));
    auto response = HttpGet(url);
    ASSERT_THAT(response, IsOk());
    const json values = json::parse(response->body)["data"];
    EXPECT_FALSE(values.empty()) << "variable " << variable["name"] << ": " << url;
    if (variable["name"] == "target") {
      EXPECT_THAT(values.get<std::vector<std::string>>(),
                  ::testing::IsSupersetOf({variables_.at("baseline"), variables_.at("candidate")}));
    }
  }

  // Every rule as Prometheus loaded it: its expression returns data, a
  // recording rule's series exists, an alert fires for the right target.
  auto rules_response = HttpGet(prometheus_->url() + "/api/v1/rules");
  ASSERT_THAT(rules_response, IsOk());
  const json groups = json::parse(rules_response->body)["data"]["groups"];
  std::set<std::string> group_names;
  int rules = 0;
  for (const json& group : groups) {
    group_names.insert(group["name"].get<std::string>());
    for (const json& rule : group["rules"]) {
      ++rules;
      const std::string name = rule["name"];
      const std::string expr = rule["query"];
      EXPECT_THAT(PollUntil(absl::StrCat("rule ", name, " (", expr, ") to return data"),
                            kDeadline,
                            [&](std::string* note) {
                              KeepHunting();
                              absl::StatusOr<json> result = Query(*prometheus_, expr);
                              if (!result.ok()) {
                                *note = std::string(result.status().message());
                                return false;
                              }
                              return CheckResult(*result, {"target", "profile"}, {}, note);
                            }),
                  IsOk());
      if (rule["type"] == "recording") {
        EXPECT_THAT(PollUntil(absl::StrCat("recorded series ", name), kDeadline,
                              [&](std::string* note) {
                                absl::StatusOr<json> result = Query(*prometheus_, name);
                                return result.ok() &&
                                       CheckResult(*result, {"target", "profile"}, {}, note);
                              }),
                    IsOk());
      }
    }
  }
  EXPECT_EQ(group_names, (std::set<std::string>{"flaky_rates", "flaky_alerts"}));
  EXPECT_EQ(rules, 7);

  const std::map<std::string, std::string> expected_alerts = {
      {"FlakyTestTurnedFlaky", absl::StrCat("ALERTS{alertname=\"FlakyTestTurnedFlaky\",target=\"",
                                            kOriginal, "\",profile=\"chaos:7\"}")},
      {"FlakyFixRegressed",
       absl::StrCat("ALERTS{alertname=\"FlakyFixRegressed\",alertstate=\"firing\",target=\"",
                    kFixed, "\",profile=\"chaos:7\"}")}};
  for (const auto& [alert, query] : expected_alerts) {
    EXPECT_THAT(WaitFor(absl::StrCat("alert ", alert), query, 1), IsOk());
  }
}

}  // namespace
}  // namespace flaky::metrics
