#include "flaky/report/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/status_macros.h"
#include "flaky/report/escape.h"
#include "flaky/report/format.h"
#include "flaky/stats/binomial.h"

namespace flaky::report {
namespace {

constexpr double kWidth = 860;
constexpr double kPlotLeft = 320;
constexpr double kPlotRight = 700;
constexpr double kValueLeft = 710;
constexpr double kTop = 50;
constexpr double kRowHeight = 20;
constexpr double kBarHeight = 12;
constexpr size_t kMaxLabel = 48;

const char* VerdictColour(const std::optional<stats::Verdict>& verdict) {
  if (!verdict.has_value()) return "#6a737d";
  switch (*verdict) {
    case stats::Verdict::kFlaky:
      return "#d73a49";
    case stats::Verdict::kClean:
      return "#2da44e";
    case stats::Verdict::kInconclusive:
      return "#bf8700";
  }
  return "#6a737d";
}

std::string Num(double value) { return absl::StrFormat("%.1f", value); }

}  // namespace

double NiceAxisMax(double value) {
  const double power = std::pow(10.0, std::floor(std::log10(value)));
  for (double step : {1.0, 2.0, 5.0, 10.0}) {
    if (step * power >= value * (1 - 1e-12)) return step * power;
  }
  return 10.0 * power;
}

absl::StatusOr<std::string> RenderRateChart(const Report& report) {
  FLAKY_ASSIGN_OR_RETURN(std::vector<RowStats> rows, ComputeRowStats(report));
  const double max_rate = report.metadata.gate.max_rate;
  double top = max_rate * 1.5;
  for (const RowStats& r : rows) {
    if (r.interval.has_value()) top = std::max(top, r.interval->high);
  }
  const double axis_max = std::min(1.0, NiceAxisMax(top));
  auto x_of = [&](double rate) {
    return kPlotLeft + (kPlotRight - kPlotLeft) * std::clamp(rate / axis_max, 0.0, 1.0);
  };

  // Cases per target decide whether labels need the case name.
  std::map<std::string, std::map<std::string, int>> cases;
  for (const RowStats& r : rows) cases[r.row->target][r.row->test_case]++;

  std::string body;
  double y = kTop;
  std::string current_target;
  for (const RowStats& r : rows) {
    if (r.row->target != current_target || y == kTop) {
      current_target = r.row->target;
      absl::StrAppend(&body, "  <text x=\"8\" y=\"", Num(y + 14),
                      "\" font-weight=\"bold\">",
                      XmlEscape(ShortSignature(current_target, kMaxLabel + 12)),
                      "</text>\n");
      y += kRowHeight;
    }
    std::string label = r.row->profile;
    if (cases[r.row->target].size() > 1) {
      label = absl::StrCat(r.row->test_case, " [", r.row->profile, "]");
    }
    const double bar_y = y + (kRowHeight - kBarHeight) / 2;
    const double mid_y = y + kRowHeight / 2;
    const std::string colour = VerdictColour(r.verdict);
    absl::StrAppend(&body, "  <g>\n    <title>",
                    XmlEscape(absl::StrCat(r.row->target, " ", r.row->test_case, " [",
                                           r.row->profile, "]: ", r.row->failures, " of ",
                                           r.row->trials, " runs, ", RateCell(r), ", ",
                                           VerdictCell(r.verdict))),
                    "</title>\n");
    absl::StrAppend(&body, "    <text x=\"24\" y=\"", Num(mid_y + 4), "\">",
                    XmlEscape(ShortSignature(label, kMaxLabel)), "</text>\n");
    if (r.interval.has_value()) {
      const double x_rate = x_of(r.interval->rate);
      const double x_low = x_of(r.interval->low);
      const double x_high = x_of(r.interval->high);
      absl::StrAppend(&body, "    <rect x=\"", Num(kPlotLeft), "\" y=\"", Num(bar_y),
                      "\" width=\"", Num(x_rate - kPlotLeft), "\" height=\"",
                      Num(kBarHeight), "\" fill=\"", colour,
                      "\" fill-opacity=\"0.75\"/>\n");
      absl::StrAppend(&body, "    <path d=\"M", Num(x_low), " ", Num(mid_y), " H",
                      Num(x_high), " M", Num(x_low), " ", Num(mid_y - 4), " V",
                      Num(mid_y + 4), " M", Num(x_high), " ", Num(mid_y - 4), " V",
                      Num(mid_y + 4), "\" stroke=\"#24292f\" stroke-width=\"1.5\" "
                      "fill=\"none\"/>\n");
    }
    absl::StrAppend(&body, "    <text x=\"", Num(kValueLeft), "\" y=\"", Num(mid_y + 4),
                    "\" fill=\"", colour, "\">",
                    XmlEscape(r.interval.has_value()
                                  ? stats::FormatPercent(r.interval->rate)
                                  : std::string("n/a")),
                    " ", XmlEscape(VerdictCell(r.verdict)), "</text>\n  </g>\n");
    y += kRowHeight;
  }
  if (rows.empty()) {
    absl::StrAppend(&body, "  <text x=\"8\" y=\"", Num(y + 14),
                    "\">no trials to chart</text>\n");
    y += kRowHeight;
  }
  const double plot_bottom = y + 4;

  // Axis with five ticks, the max-rate line, title and legend.
  std::string axis;
  for (int i = 0; i <= 4; ++i) {
    const double rate = axis_max * i / 4;
    const double x = x_of(rate);
    absl::StrAppend(&axis, "  <line x1=\"", Num(x), "\" y1=\"", Num(kTop - 4),
                    "\" x2=\"", Num(x), "\" y2=\"", Num(plot_bottom),
                    "\" stroke=\"#d0d7de\" stroke-width=\"1\"/>\n");
    absl::StrAppend(&axis, "  <text x=\"", Num(x), "\" y=\"", Num(plot_bottom + 14),
                    "\" text-anchor=\"middle\" fill=\"#57606a\">",
                    XmlEscape(stats::FormatPercent(rate)), "</text>\n");
  }
  const double x_max = x_of(max_rate);
  std::string max_line = absl::StrCat(
      "  <line x1=\"", Num(x_max), "\" y1=\"", Num(kTop - 4), "\" x2=\"", Num(x_max),
      "\" y2=\"", Num(plot_bottom), "\" stroke=\"#d73a49\" stroke-width=\"1.5\" "
      "stroke-dasharray=\"4 3\"/>\n  <text x=\"",
      Num(std::min(x_max + 3, kPlotRight - 60)), "\" y=\"", Num(kTop - 8),
      "\" fill=\"#d73a49\">max ", XmlEscape(stats::FormatPercent(max_rate)), "</text>\n");
  const double legend_y = plot_bottom + 36;
  std::string legend;
  double legend_x = 8;
  for (stats::Verdict v :
       {stats::Verdict::kFlaky, stats::Verdict::kInconclusive, stats::Verdict::kClean}) {
    absl::StrAppend(&legend, "  <rect x=\"", Num(legend_x), "\" y=\"", Num(legend_y - 10),
                    "\" width=\"10\" height=\"10\" fill=\"", VerdictColour(v), "\"/>\n",
                    "  <text x=\"", Num(legend_x + 14), "\" y=\"", Num(legend_y), "\">",
                    stats::VerdictName(v), "</text>\n");
    legend_x += 120;
  }
  absl::StrAppend(&legend, "  <text x=\"", Num(legend_x), "\" y=\"", Num(legend_y),
                  "\" fill=\"#57606a\">bar: rate, whisker: ",
                  XmlEscape(stats::FormatConfidence(report.metadata.gate.confidence)),
                  " interval</text>\n");
  const double height = legend_y + 12;

  std::string svg = absl::StrCat(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"", Num(kWidth), "\" height=\"",
      Num(height), "\" viewBox=\"0 0 ", Num(kWidth), " ", Num(height),
      "\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n",
      "  <title>", XmlEscape(absl::StrCat("Flake rate per profile: ", report.title)),
      "</title>\n", "  <rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n",
      "  <text x=\"8\" y=\"20\" font-size=\"14\" font-weight=\"bold\">",
      XmlEscape(absl::StrCat(
          "Flake rate per profile (",
          stats::FormatConfidence(report.metadata.gate.confidence), " interval)")),
      "</text>\n", axis, max_line, body, legend, "</svg>\n");
  return svg;
}

}  // namespace flaky::report
