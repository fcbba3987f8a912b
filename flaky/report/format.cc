#include "flaky/report/format.h"

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "flaky/stats/binomial.h"

namespace flaky::report {

std::string RateCell(const RowStats& stats) {
  if (!stats.interval.has_value()) return "n/a";
  const stats::RateInterval& i = *stats.interval;
  return absl::StrCat(stats::FormatPercent(i.rate), " [",
                      stats::FormatPercent(i.low, stats::PercentRounding::kDown), ", ",
                      stats::FormatPercent(i.high, stats::PercentRounding::kUp), "]");
}

std::string VerdictCell(const std::optional<stats::Verdict>& verdict) {
  if (!verdict.has_value()) return "-";
  return std::string(stats::VerdictName(*verdict));
}

std::string AmplificationCell(const RowStats& stats) {
  if (!stats.amplification.has_value()) return "-";
  return stats::FormatRatio(*stats.amplification);
}

namespace {

enum class Round { kNearest, kDown, kUp };

std::string Runs(double runs, Round round) {
  if (std::isinf(runs)) return "inf";
  // One decimal below 100 runs, whole runs above.
  const double scale = runs < 100 ? 10.0 : 1.0;
  double scaled = runs * scale;
  scaled = round == Round::kDown ? std::floor(scaled + 1e-9)
           : round == Round::kUp ? std::ceil(scaled - 1e-9)
                                 : std::round(scaled);
  std::string text = absl::StrFormat("%.*f", scale > 1 ? 1 : 0, scaled / scale);
  if (scale > 1 && text.size() > 2 && text.substr(text.size() - 2) == ".0") {
    text.resize(text.size() - 2);
  }
  return text;
}

}  // namespace

std::string RunsPerFailureCell(const RowStats& stats) {
  if (!stats.runs_to_failure.has_value()) return "n/a";
  const stats::RunsToFailure& r = *stats.runs_to_failure;
  if (std::isinf(r.expected)) return absl::StrCat("> ", Runs(r.expected_low, Round::kDown));
  return absl::StrCat(Runs(r.expected, Round::kNearest), " [",
                      Runs(r.expected_low, Round::kDown), ", ",
                      Runs(r.expected_high, Round::kUp), "]");
}

std::string FormatDate(absl::Time date) {
  return absl::FormatTime("%Y-%m-%d %H:%M UTC", date, absl::UTCTimeZone());
}

std::string MetadataLine(const Report& report) {
  const HuntMetadata& m = report.metadata;
  std::vector<std::string> parts;
  if (m.mode) parts.push_back(absl::StrCat("mode ", results::HuntModeName(*m.mode)));
  if (!m.commit.empty()) parts.push_back(absl::StrCat("commit ", m.commit));
  if (!m.host.empty()) parts.push_back(absl::StrCat("host ", m.host));
  if (m.date != absl::UnixEpoch()) parts.push_back(FormatDate(m.date));
  parts.push_back(absl::StrCat("max rate ", stats::FormatPercent(m.gate.max_rate), " at ",
                               stats::FormatConfidence(m.gate.confidence)));
  // Why the numbers may differ from a textbook interval, and over how many
  // hypotheses FLAKY's error is shared.
  parts.push_back(absl::StrCat("anytime-valid verdicts and intervals, FLAKY family-wise over ",
                               stats::FamilySize(report.rows, m.gate),
                               " (Holm)"));
  return absl::StrJoin(parts, ", ");
}

std::string FixLine(const FixComparison& fix) {
  const stats::FixVerification& v = fix.verification;
  auto side = [](int64_t failures, int64_t trials) {
    return absl::StrCat(failures, "/", trials, " (",
                        stats::FormatPercent(static_cast<double>(failures) /
                                             static_cast<double>(trials)),
                        ")");
  };
  return absl::StrCat(fix.baseline, " ", side(v.baseline_failures, v.baseline_trials),
                      " vs ", fix.candidate, " ",
                      side(v.candidate_failures, v.candidate_trials), " under ",
                      fix.profile, fix.test_case.empty() ? "" : " " + fix.test_case,
                      ": ", v.advice);
}

}  // namespace flaky::report
