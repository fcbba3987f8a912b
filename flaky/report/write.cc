#include "flaky/report/write.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "flaky/report/json.h"
#include "flaky/report/junit.h"
#include "flaky/report/markdown.h"
#include "flaky/report/svg_chart.h"

namespace flaky::report {
namespace {

namespace fs = std::filesystem;

absl::Status WriteAtomically(const fs::path& path, const std::string& content) {
  const fs::path temporary = fs::path(path).concat(".tmp");
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) {
      return absl::UnavailableError(absl::StrCat("cannot write ", temporary.string(), ": ",
                                                 std::strerror(errno),
                                                 "; check the report directory"));
    }
    out << content;
    out.close();
    if (!out) {
      return absl::UnavailableError(absl::StrCat("cannot write ", temporary.string(), ": ",
                                                 std::strerror(errno), " (disk full?)"));
    }
  }
  std::error_code error;
  fs::rename(temporary, path, error);
  if (error) {
    fs::remove(temporary, error);
    return absl::UnavailableError(
        absl::StrCat("cannot rename ", temporary.string(), " to ", path.string(), ": ",
                     error.message()));
  }
  return absl::OkStatus();
}

absl::Status MakeDirectory(const fs::path& dir) {
  if (dir.empty()) return absl::OkStatus();
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) {
    return absl::UnavailableError(absl::StrCat("cannot create report directory ",
                                               dir.string(), ": ", error.message()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> WriteMarkdownWithChart(const Report& report,
                                                   const std::string& markdown_path) {
  if (!absl::EndsWith(markdown_path, ".md")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "markdown report path must end in .md (its chart goes beside it as .svg), got ",
        markdown_path));
  }
  const fs::path md(markdown_path);
  const fs::path svg = fs::path(md).replace_extension(".svg");
  FLAKY_ASSIGN_OR_RETURN(std::string chart, RenderRateChart(report));
  FLAKY_ASSIGN_OR_RETURN(std::string markdown,
                         RenderMarkdown(report, svg.filename().string()));
  FLAKY_RETURN_IF_ERROR(MakeDirectory(md.parent_path()));
  FLAKY_RETURN_IF_ERROR(WriteAtomically(svg, chart));
  FLAKY_RETURN_IF_ERROR(WriteAtomically(md, markdown));
  return svg.string();
}

absl::StatusOr<ReportFiles> WriteReportFiles(const Report& report, const std::string& dir) {
  const fs::path base(dir);
  ReportFiles files;
  files.markdown = (base / "report.md").string();
  files.json = (base / "report.json").string();
  files.junit = (base / "report.junit.xml").string();
  // Render everything before writing anything, so bad input leaves no files.
  FLAKY_ASSIGN_OR_RETURN(std::string json, RenderJson(report));
  FLAKY_ASSIGN_OR_RETURN(std::string junit, RenderJUnit(report));
  FLAKY_RETURN_IF_ERROR(ComputeRowStats(report).status());
  FLAKY_RETURN_IF_ERROR(MakeDirectory(base));
  FLAKY_ASSIGN_OR_RETURN(files.svg, WriteMarkdownWithChart(report, files.markdown));
  FLAKY_RETURN_IF_ERROR(WriteAtomically(files.json, json));
  FLAKY_RETURN_IF_ERROR(WriteAtomically(files.junit, junit));
  return files;
}

}  // namespace flaky::report
