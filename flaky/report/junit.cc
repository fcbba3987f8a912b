#include "flaky/report/junit.h"

#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "base/status_macros.h"
#include "flaky/report/escape.h"
#include "flaky/report/format.h"
#include "flaky/report/report.h"
#include "flaky/stats/binomial.h"
#include "flaky/stats/verdict.h"
#include "pugixml.hpp"

namespace flaky::report {
namespace {

void Attribute(pugi::xml_node node, const char* name, const std::string& value) {
  node.append_attribute(name).set_value(XmlSafeText(value).c_str());
}

void Property(pugi::xml_node properties, const std::string& name,
              const std::string& value) {
  pugi::xml_node property = properties.append_child("property");
  Attribute(property, "name", name);
  Attribute(property, "value", value);
}

std::string Seconds(absl::Duration d) {
  return absl::StrFormat("%.3f", absl::ToDoubleSeconds(d));
}

}  // namespace

absl::StatusOr<std::string> RenderJUnit(const Report& report, int max_signatures) {
  FLAKY_ASSIGN_OR_RETURN(std::vector<RowStats> stats, ComputeRowStats(report));
  std::map<std::pair<std::string, std::string>, std::vector<const RowStats*>> rows_of;
  for (const RowStats& s : stats) rows_of[{s.row->target, s.row->profile}].push_back(&s);

  int failures = 0;
  int skipped = 0;
  absl::Duration total = absl::ZeroDuration();
  for (const stats::TargetVerdict& v : report.verdicts) {
    failures += v.verdict == stats::Verdict::kFlaky;
    skipped += v.verdict == stats::Verdict::kInconclusive;
    for (const RowStats* s : rows_of[{v.target, v.profile}]) total += s->row->total_duration;
  }

  pugi::xml_document doc;
  pugi::xml_node decl = doc.append_child(pugi::node_declaration);
  decl.append_attribute("version").set_value("1.0");
  decl.append_attribute("encoding").set_value("UTF-8");
  const std::string name = absl::StrCat(
      "flaky: ", report.title.empty() ? std::string("report") : report.title);
  pugi::xml_node suites = doc.append_child("testsuites");
  Attribute(suites, "name", name);
  Attribute(suites, "tests", absl::StrCat(report.verdicts.size()));
  Attribute(suites, "failures", absl::StrCat(failures));
  Attribute(suites, "skipped", absl::StrCat(skipped));
  Attribute(suites, "errors", "0");
  Attribute(suites, "time", Seconds(total));
  pugi::xml_node suite = suites.append_child("testsuite");
  Attribute(suite, "name", name);
  Attribute(suite, "tests", absl::StrCat(report.verdicts.size()));
  Attribute(suite, "failures", absl::StrCat(failures));
  Attribute(suite, "skipped", absl::StrCat(skipped));
  Attribute(suite, "errors", "0");
  Attribute(suite, "time", Seconds(total));
  Attribute(suite, "timestamp",
            absl::FormatTime("%Y-%m-%dT%H:%M:%S", report.metadata.date,
                             absl::UTCTimeZone()));
  if (!report.metadata.host.empty()) Attribute(suite, "hostname", report.metadata.host);
  pugi::xml_node suite_properties = suite.append_child("properties");
  Property(suite_properties, "commit", report.metadata.commit);
  Property(suite_properties, "mode",
           report.metadata.mode ? std::string(results::HuntModeName(*report.metadata.mode))
                                : "");
  Property(suite_properties, "max_rate", absl::StrCat(report.metadata.gate.max_rate));
  Property(suite_properties, "confidence", absl::StrCat(report.metadata.gate.confidence));

  for (const stats::TargetVerdict& v : report.verdicts) {
    const std::vector<const RowStats*>& rows = rows_of[{v.target, v.profile}];
    absl::Duration time = absl::ZeroDuration();
    int64_t trials = 0;
    int64_t failed = 0;
    for (const RowStats* s : rows) {
      time += s->row->total_duration;
      trials += s->row->trials;
      failed += s->row->failures;
    }
    pugi::xml_node testcase = suite.append_child("testcase");
    Attribute(testcase, "name", v.profile);
    Attribute(testcase, "classname", v.target);
    Attribute(testcase, "time", Seconds(time));
    pugi::xml_node properties = testcase.append_child("properties");
    Property(properties, "verdict", std::string(stats::VerdictName(v.verdict)));
    Property(properties, "trials", absl::StrCat(trials));
    Property(properties, "failures", absl::StrCat(failed));
    if (rows.size() == 1 && rows[0]->interval.has_value()) {
      Property(properties, "rate", absl::StrCat(rows[0]->interval->rate));
      Property(properties, "rate_low", absl::StrCat(rows[0]->interval->low));
      Property(properties, "rate_high", absl::StrCat(rows[0]->interval->high));
    }
    Property(properties, "confidence", absl::StrCat(report.metadata.gate.confidence));
    Property(properties, "max_rate", absl::StrCat(report.metadata.gate.max_rate));

    // Body: one line per case, then the top signatures.
    std::string details;
    for (const RowStats* s : rows) {
      absl::StrAppend(&details, s->row->test_case.empty() ? "(target)" : s->row->test_case,
                      ": ", s->row->failures, " of ", s->row->trials, " runs failed, rate ",
                      RateCell(*s), ", ", VerdictCell(s->verdict), "\n");
    }
    for (const RowStats* s : rows) {
      int shown = 0;
      for (const results::SignatureCount& sig : s->row->signatures) {
        if (shown++ >= max_signatures) break;
        absl::StrAppend(&details, "  ", sig.count, "x ", ShortSignature(sig.signature, 300),
                        "\n    first failing run ", sig.first_run);
        if (sig.seed.has_value()) absl::StrAppend(&details, ", seed ", *sig.seed);
        if (!sig.first_log_path.empty()) {
          absl::StrAppend(&details, ", log ", sig.first_log_path);
        }
        details += "\n";
      }
    }
    if (v.verdict == stats::Verdict::kFlaky) {
      pugi::xml_node failure = testcase.append_child("failure");
      const std::string flaky(stats::VerdictName(stats::Verdict::kFlaky));
      Attribute(failure, "type", flaky);
      Attribute(failure, "message", absl::StrCat(flaky, ": ", v.reason));
      failure.text().set(XmlSafeText(details).c_str());
    } else if (v.verdict == stats::Verdict::kInconclusive) {
      pugi::xml_node skip = testcase.append_child("skipped");
      Attribute(skip, "message", absl::StrCat(stats::VerdictName(stats::Verdict::kInconclusive),
                                              ": ", v.reason));
    }
    pugi::xml_node out = testcase.append_child("system-out");
    out.text().set(XmlSafeText(absl::StrCat(v.reason, "\n", details)).c_str());
  }

  std::ostringstream stream;
  doc.save(stream, "  ", pugi::format_default, pugi::encoding_utf8);
  return stream.str();
}

}  // namespace flaky::report
