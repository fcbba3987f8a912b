#include "bench/ratios.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace flaky::bench {

namespace {

const RateRow* Find(const std::vector<RateRow>& rows, absl::string_view name) {
  auto it = std::find_if(rows.begin(), rows.end(),
                         [&](const RateRow& row) { return row.name == name; });
  return it == rows.end() ? nullptr : &*it;
}

std::optional<double> Rate(const RateRow& row) {
  if (row.seconds <= 0) return std::nullopt;
  return row.runs / row.seconds;
}

std::string Ratio(double ratio) { return absl::StrFormat("%.2fx", ratio); }

}  // namespace

std::optional<double> RateRatio(const std::vector<RateRow>& rows,
                                absl::string_view name) {
  const RateRow* row = Find(rows, name);
  if (row == nullptr || row->reference.empty()) return std::nullopt;
  const RateRow* reference = Find(rows, row->reference);
  if (reference == nullptr) return std::nullopt;
  std::optional<double> rate = Rate(*row);
  std::optional<double> reference_rate = Rate(*reference);
  if (!rate || !reference_rate || *reference_rate <= 0) return std::nullopt;
  return *rate / *reference_rate;
}

std::string RenderRateTable(const std::vector<RateRow>& rows) {
  std::string out =
      "| how | runs | wall s | runs/s | ratio to reference |\n"
      "|---|---:|---:|---:|---|\n";
  for (const RateRow& row : rows) {
    std::optional<double> rate = Rate(row);
    std::string ratio = "-";
    if (row.reference.empty()) {
      ratio = "reference";
    } else if (std::optional<double> r = RateRatio(rows, row.name)) {
      ratio = absl::StrCat(Ratio(*r), " `", row.reference, "`");
    }
    absl::StrAppend(&out, "| ", row.how, " (`", row.name, "`) | ", row.runs,
                    " | ", absl::StrFormat("%.2f", row.seconds), " | ",
                    rate ? absl::StrFormat("%.1f", *rate) : "-", " | ", ratio,
                    " |\n");
  }
  return out;
}

std::string GoalMet(const Goal& goal) {
  if (!goal.measured) return "n/a";
  if (*goal.measured >= goal.target) return "yes";
  return goal.measured_at_least ? "unknown" : "no";
}

std::string RenderGoalTable(const std::vector<Goal>& goals) {
  std::string out = "| goal | target | measured | met? |\n|---|---:|---:|---|\n";
  for (const Goal& goal : goals) {
    std::string measured = "-";
    if (goal.measured) {
      measured = absl::StrCat(goal.measured_at_least ? ">= " : "",
                              Ratio(*goal.measured));
    }
    absl::StrAppend(&out, "| ", goal.what, " | >= ", Ratio(goal.target), " | ",
                    measured, " | ", GoalMet(goal), " |\n");
  }
  return out;
}

}  // namespace flaky::bench
