#include "flaky/report/terminal.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/status_macros.h"
#include "flaky/report/format.h"
#include "flaky/report/report.h"

namespace flaky::report {
namespace {

// Left-aligns text columns and right-aligns numeric ones.
std::string Table(const std::vector<std::vector<std::string>>& rows,
                  const std::vector<bool>& right_aligned) {
  std::vector<size_t> widths(right_aligned.size(), 0);
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      if (c > 0) line += "  ";
      const std::string pad(widths[c] - row[c].size(), ' ');
      line += right_aligned[c] ? pad + row[c] : row[c] + pad;
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

}  // namespace

absl::StatusOr<std::string> RenderTerminal(const Report& report, int max_signatures) {
  FLAKY_ASSIGN_OR_RETURN(std::vector<RowStats> stats, ComputeRowStats(report));
  std::string out = absl::StrCat(report.title.empty() ? "flaky report" : report.title,
                                 "\n", MetadataLine(report), "\n\n");
  std::vector<std::vector<std::string>> table = {
      {"TARGET", "CASE", "PROFILE", "TRIALS", "FAILURES", "RATE [LOW, HIGH]",
       "VS NONE", "VERDICT"}};
  for (const RowStats& s : stats) {
    // Names are cut (in full in the JSON report): one 1 MB test-case name
    // would pad every row of the table to its width.
    table.push_back({ShortName(s.row->target),
                     s.row->test_case.empty() ? "-" : ShortName(s.row->test_case),
                     ShortName(s.row->profile), absl::StrCat(s.row->trials),
                     absl::StrCat(s.row->failures), RateCell(s), AmplificationCell(s),
                     VerdictCell(s.verdict)});
  }
  out += Table(table, {false, false, false, true, true, false, false, false});

  if (!report.verdicts.empty()) {
    out += "\nVerdicts (target, profile):\n";
    for (const stats::TargetVerdict& v : report.verdicts) {
      // Padded to the longest name, INCONCLUSIVE.
      absl::StrAppend(&out, "  ", absl::StrFormat("%-12s", stats::VerdictName(v.verdict)),
                      "  ", ShortName(v.target), " [", ShortName(v.profile),
                      "]: ", ShortSignature(v.reason, kMaxReasonChars), "\n");
    }
    const std::optional<stats::Verdict> overall = OverallVerdict(report);
    absl::StrAppend(&out, "Gate: ", stats::VerdictName(*overall), " (exit ",
                    stats::GateExitCode(report.verdicts), ")\n");
  }

  bool header = false;
  for (const RowStats& s : stats) {
    int shown = 0;
    for (const results::SignatureCount& sig : s.row->signatures) {
      if (shown++ >= max_signatures) break;
      if (!header) {
        out += "\nTop failure signatures:\n";
        header = true;
      }
      absl::StrAppend(&out, "  ", ShortName(s.row->target), " [", ShortName(s.row->profile),
                      "] ", sig.count,
                      "x ", ShortSignature(sig.signature), "\n      first failing run ",
                      sig.first_run);
      if (sig.seed.has_value()) absl::StrAppend(&out, ", seed ", *sig.seed);
      if (!sig.first_log_path.empty()) absl::StrAppend(&out, ", log ", sig.first_log_path);
      out += "\n";
    }
  }

  if (!report.fixes.empty()) {
    out += "\nFix verification (Fisher's exact test, one-sided):\n";
    for (const FixComparison& fix : report.fixes) {
      absl::StrAppend(&out, "  ", FixLine(fix), "\n");
    }
  }
  return out;
}

}  // namespace flaky::report
