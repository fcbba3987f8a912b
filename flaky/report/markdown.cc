#include "flaky/report/markdown.h"

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/status_macros.h"
#include "flaky/report/escape.h"
#include "flaky/report/format.h"
#include "flaky/report/report.h"
#include "flaky/stats/binomial.h"
#include "flaky/stats/verdict.h"

namespace flaky::report {
namespace {

// Markdown of untrusted text: valid UTF-8, no control characters, escaped.
std::string Text(const std::string& text) { return MarkdownText(XmlSafeText(text)); }
std::string Code(const std::string& text) { return MarkdownCode(XmlSafeText(text)); }

std::string VerdictMarkdown(const std::optional<stats::Verdict>& verdict) {
  if (!verdict.has_value()) return "-";
  if (*verdict == stats::Verdict::kFlaky) return "**FLAKY**";
  return std::string(stats::VerdictName(*verdict));
}

std::string IntervalCell(const RowStats& s) {
  if (!s.interval.has_value()) return "n/a";
  return absl::StrCat(stats::FormatPercent(s.interval->low, stats::PercentRounding::kDown),
                      " to ",
                      stats::FormatPercent(s.interval->high, stats::PercentRounding::kUp));
}

}  // namespace

absl::StatusOr<std::string> RenderMarkdown(const Report& report,
                                           const std::string& svg_reference,
                                           int max_signatures) {
  FLAKY_ASSIGN_OR_RETURN(std::vector<RowStats> stats, ComputeRowStats(report));
  const std::string confidence = stats::FormatConfidence(report.metadata.gate.confidence);
  std::string out = absl::StrCat(
      "# ", Text(report.title.empty() ? "flaky report" : report.title), "\n\n_",
      Text(MetadataLine(report)), "_\n\n");

  const std::optional<stats::Verdict> overall = OverallVerdict(report);
  if (overall.has_value()) {
    std::map<stats::Verdict, int> counts;
    for (const stats::TargetVerdict& v : report.verdicts) counts[v.verdict]++;
    absl::StrAppend(&out, "**Gate: ", stats::VerdictName(*overall), "** (exit ",
                    stats::GateExitCode(report.verdicts), "): ",
                    counts[stats::Verdict::kFlaky], " flaky, ",
                    counts[stats::Verdict::kInconclusive], " inconclusive, ",
                    counts[stats::Verdict::kClean], " clean of ", report.verdicts.size(),
                    " (target, profile) pairs.\n\n");
  }
  if (!svg_reference.empty()) {
    absl::StrAppend(&out, "![Flake rate per profile with ", confidence, " intervals](",
                    svg_reference, ")\n\n");
  }

  // Rows grouped by target, in order of first appearance.
  std::vector<std::string> targets;
  std::map<std::string, std::vector<const RowStats*>> by_target;
  for (const RowStats& s : stats) {
    if (by_target[s.row->target].empty()) targets.push_back(s.row->target);
    by_target[s.row->target].push_back(&s);
  }
  for (const std::string& target : targets) {
    absl::StrAppend(&out, "## ", Code(ShortName(target)), "\n\n");
    absl::StrAppend(&out, "| Profile | Case | Runs | Failures | Rate | ", confidence,
                    " interval | vs `none` | Runs per failure | Verdict |\n",
                    "|---|---|--:|--:|--:|---|---|---|---|\n");
    for (const RowStats* s : by_target[target]) {
      absl::StrAppend(
          &out, "| ", Code(ShortName(s->row->profile)), " | ",
          s->row->test_case.empty() ? "-" : Text(ShortName(s->row->test_case)), " | ",
          s->row->trials, " | ", s->row->failures, " | ",
          s->interval.has_value() ? stats::FormatPercent(s->interval->rate) : "n/a",
          " | ", IntervalCell(*s), " | ", Text(AmplificationCell(*s)), " | ",
          Text(RunsPerFailureCell(*s)), " | ", VerdictMarkdown(s->verdict), " |\n");
    }
    out += "\n";
    for (const stats::TargetVerdict& v : report.verdicts) {
      if (v.target != target) continue;
      absl::StrAppend(&out, "- ", Code(ShortName(v.profile)), ": ",
                      VerdictMarkdown(v.verdict), ", ",
                      Text(ShortSignature(v.reason, kMaxReasonChars)), "\n");
    }
    bool header = false;
    for (const RowStats* s : by_target[target]) {
      int shown = 0;
      for (const results::SignatureCount& sig : s->row->signatures) {
        if (shown++ >= max_signatures) break;
        if (!header) {
          absl::StrAppend(&out, "\n**Top failure signatures**\n\n",
                          "| Profile | Count | Signature | First failing run | Log | "
                          "Seed to replay |\n|---|--:|---|--:|---|---|\n");
          header = true;
        }
        absl::StrAppend(&out, "| ", Code(ShortName(s->row->profile)), " | ", sig.count, " | ",
                        Code(ShortSignature(sig.signature)), " | ", sig.first_run, " | ",
                        sig.first_log_path.empty() ? "-" : Code(sig.first_log_path),
                        " | ",
                        sig.seed.has_value() ? Code(absl::StrCat(*sig.seed)) : "-",
                        " |\n");
      }
    }
    out += "\n";
  }

  if (!report.fixes.empty()) {
    absl::StrAppend(&out, "## Fix verification\n\n",
                    "One-sided Fisher's exact test: is the candidate's rate lower than "
                    "the baseline's?\n\n",
                    "| Baseline | Candidate | Profile | Baseline failures | Candidate "
                    "failures | p-value | Result |\n|---|---|---|--:|--:|--:|---|\n");
    for (const FixComparison& fix : report.fixes) {
      const stats::FixVerification& v = fix.verification;
      std::string result;
      if (v.decided) {
        result = absl::StrCat("**lower** at alpha ", v.alpha);
      } else if (v.more_candidate_runs.has_value()) {
        result = absl::StrCat("undecided: ", *v.more_candidate_runs,
                              " more clean candidate runs would decide");
      } else {
        result = Text(v.advice);
      }
      absl::StrAppend(
          &out, "| ", Text(fix.baseline), " | ", Text(fix.candidate), " | ",
          Code(fix.profile), " | ", v.baseline_failures, " of ", v.baseline_trials, " (",
          stats::FormatPercent(static_cast<double>(v.baseline_failures) /
                               static_cast<double>(v.baseline_trials)),
          ") | ", v.candidate_failures, " of ", v.candidate_trials, " (",
          stats::FormatPercent(static_cast<double>(v.candidate_failures) /
                               static_cast<double>(v.candidate_trials)),
          ") | ", absl::StrFormat("%.3g", v.p_value), " | ", result, " |\n");
    }
    out += "\n";
  }
  return out;
}

}  // namespace flaky::report
