#include "flaky/report/json.h"

#include <cmath>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "base/status_macros.h"
#include "flaky/report/escape.h"
#include "flaky/report/report.h"
#include "flaky/results/trial.h"
#include "flaky/stats/binomial.h"
#include "flaky/stats/compare.h"
#include "flaky/stats/verdict.h"
#include "nlohmann/json.hpp"

namespace flaky::report {
namespace {

using nlohmann::json;

// nlohmann throws on invalid UTF-8 when dumping; text from logs may hold it.
std::string Utf8(const std::string& text) { return XmlSafeText(text); }

json Number(double value) {
  if (!std::isfinite(value)) return nullptr;
  return value;
}

const char* RatioKind(stats::RateRatio::Kind kind) {
  switch (kind) {
    case stats::RateRatio::Kind::kEstimate:
      return "estimate";
    case stats::RateRatio::Kind::kAtLeast:
      return "at_least";
    case stats::RateRatio::Kind::kAtMost:
      return "at_most";
    case stats::RateRatio::Kind::kUndefined:
      return "undefined";
  }
  return "undefined";
}

json VerdictJson(const std::optional<stats::Verdict>& verdict) {
  if (!verdict.has_value()) return nullptr;
  return std::string(stats::VerdictName(*verdict));
}

}  // namespace

absl::StatusOr<json> ReportToJson(const Report& report) {
  FLAKY_ASSIGN_OR_RETURN(std::vector<RowStats> stats, ComputeRowStats(report));
  const HuntMetadata& m = report.metadata;
  json doc;
  doc["schema_version"] = kSchemaVersion;
  doc["title"] = Utf8(report.title);
  json metadata = {
      {"mode", m.mode ? std::string(results::HuntModeName(*m.mode)) : ""},
      {"commit", Utf8(m.commit)},
      {"host", Utf8(m.host)},
      {"date", absl::FormatTime(absl::RFC3339_sec, m.date, absl::UTCTimeZone())},
      {"max_rate", m.gate.max_rate},
      {"confidence", m.gate.confidence},
      // The verdicts and intervals are anytime-valid (stats/anytime.h);
      // FLAKY is corrected over `flaky_family` hypotheses (Holm).
      {"rule", "anytime"},
      {"flaky_family", stats::FamilySize(report.rows, m.gate)},
  };
  doc["metadata"] = metadata;
  const std::optional<stats::Verdict> overall = OverallVerdict(report);
  doc["gate"] = overall.has_value()
                    ? json{{"verdict", std::string(stats::VerdictName(*overall))},
                           {"exit_code", stats::GateExitCode(report.verdicts)}}
                    : json(nullptr);

  json rows = json::array();
  for (const RowStats& s : stats) {
    const results::CaseSummary& row = *s.row;
    json r = {
        {"target", Utf8(row.target)},
        {"test_case", Utf8(row.test_case)},
        {"profile", Utf8(row.profile)},
        {"mode", Utf8(row.mode)},
        {"trials", row.trials},
        {"failures", row.failures},
        {"rate", nullptr},
        {"interval", nullptr},
        {"verdict", VerdictJson(s.verdict)},
        {"reason", Utf8(s.reason)},
        {"amplification", nullptr},
        {"trials_to_first_failure", nullptr},
        {"trials_since_last_failure", row.trials_since_last_failure},
        {"total_duration_seconds", absl::ToDoubleSeconds(row.total_duration)},
    };
    if (s.interval.has_value()) {
      r["rate"] = s.interval->rate;
      r["interval"] = {{"low", s.interval->low},
                       {"high", s.interval->high},
                       {"confidence", s.interval->confidence},
                       {"method", std::string(stats::IntervalMethodName(s.interval->method))}};
    }
    if (s.amplification.has_value()) {
      r["amplification"] = {{"kind", RatioKind(s.amplification->kind)},
                            {"ratio", Number(s.amplification->ratio)},
                            {"low", Number(s.amplification->low)},
                            {"high", Number(s.amplification->high)}};
    }
    r["runs_per_failure"] = nullptr;
    if (s.runs_to_failure.has_value()) {
      r["runs_per_failure"] = {{"expected", Number(s.runs_to_failure->expected)},
                               {"low", Number(s.runs_to_failure->expected_low)},
                               {"high", Number(s.runs_to_failure->expected_high)}};
    }
    if (row.trials_to_first_failure.has_value()) {
      r["trials_to_first_failure"] = *row.trials_to_first_failure;
    }
    json outcomes = json::object();
    for (const auto& [outcome, count] : row.by_outcome) {
      outcomes[std::string(results::OutcomeName(outcome))] = count;
    }
    r["by_outcome"] = outcomes;
    json signatures = json::array();
    for (const results::SignatureCount& sig : row.signatures) {
      signatures.push_back({
          {"signature", Utf8(sig.signature)},
          {"count", sig.count},
          {"example_message", Utf8(sig.example_message)},
          {"first_log_path", Utf8(sig.first_log_path)},
          {"seed", sig.seed.has_value() ? json(absl::StrCat(*sig.seed)) : json(nullptr)},
          {"first_run", sig.first_run},
      });
    }
    r["signatures"] = signatures;
    rows.push_back(r);
  }
  doc["rows"] = rows;

  json verdicts = json::array();
  for (const stats::TargetVerdict& v : report.verdicts) {
    json cases = json::array();
    for (const stats::CaseVerdict& c : v.cases) {
      cases.push_back({{"test_case", Utf8(c.test_case)},
                       {"verdict", std::string(stats::VerdictName(c.judgement.verdict))},
                       {"failures", c.judgement.failures},
                       {"trials", c.judgement.trials},
                       {"lower_bound", c.judgement.lower_bound},
                       {"upper_bound", c.judgement.upper_bound},
                       {"reason", Utf8(c.judgement.reason)}});
    }
    verdicts.push_back({{"target", Utf8(v.target)},
                        {"profile", Utf8(v.profile)},
                        {"verdict", std::string(stats::VerdictName(v.verdict))},
                        {"reason", Utf8(v.reason)},
                        {"cases", cases}});
  }
  doc["verdicts"] = verdicts;

  json fixes = json::array();
  for (const FixComparison& fix : report.fixes) {
    const stats::FixVerification& v = fix.verification;
    fixes.push_back({
        {"baseline", Utf8(fix.baseline)},
        {"candidate", Utf8(fix.candidate)},
        {"profile", Utf8(fix.profile)},
        {"test_case", Utf8(fix.test_case)},
        {"baseline_failures", v.baseline_failures},
        {"baseline_trials", v.baseline_trials},
        {"candidate_failures", v.candidate_failures},
        {"candidate_trials", v.candidate_trials},
        {"alpha", v.alpha},
        {"p_value", v.p_value},
        {"decided", v.decided},
        {"more_candidate_runs", v.more_candidate_runs.has_value()
                                    ? json(*v.more_candidate_runs)
                                    : json(nullptr)},
        {"advice", Utf8(v.advice)},
    });
  }
  doc["fix_verifications"] = fixes;
  return doc;
}

absl::StatusOr<std::string> RenderJson(const Report& report) {
  FLAKY_ASSIGN_OR_RETURN(json doc, ReportToJson(report));
  return doc.dump(2) + "\n";
}

}  // namespace flaky::report
