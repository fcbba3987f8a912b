#include "flaky/report/write.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/status/status.h"
#include "base/status_matchers.h"
#include "flaky/report/sample_report.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "pugixml.hpp"

namespace flaky::report {
namespace {

namespace fs = std::filesystem;
using ::flaky::testing::IsOk;
using ::flaky::testing::StatusIs;
using ::testing::HasSubstr;

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

fs::path TempDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return fs::path(tmp != nullptr ? tmp : "/tmp") / name;
}

TEST(WriteReportFiles, WritesEveryFormatIntoTheDirectory) {
  const fs::path dir = TempDir("out/nested");
  absl::StatusOr<ReportFiles> files = WriteReportFiles(SampleReport(), dir.string());
  ASSERT_THAT(files, IsOk());
  EXPECT_EQ(files->markdown, (dir / "report.md").string());
  EXPECT_EQ(files->svg, (dir / "report.svg").string());
  EXPECT_EQ(files->json, (dir / "report.json").string());
  EXPECT_EQ(files->junit, (dir / "report.junit.xml").string());

  EXPECT_THAT(Read(files->markdown), HasSubstr("](report.svg)"));
  pugi::xml_document svg;
  ASSERT_TRUE(svg.load_file(files->svg.c_str())) << "the chart is not well-formed XML";
  EXPECT_STREQ(svg.document_element().name(), "svg");
  const nlohmann::json json = nlohmann::json::parse(Read(files->json));
  EXPECT_EQ(json["schema_version"], kSchemaVersion);
  pugi::xml_document junit;
  ASSERT_TRUE(junit.load_file(files->junit.c_str()));
  EXPECT_STREQ(junit.document_element().name(), "testsuites");
  // No temporary files are left behind.
  int entries = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    EXPECT_EQ(entry.path().extension() == ".tmp", false) << entry.path();
    ++entries;
  }
  EXPECT_EQ(entries, 4);

  // Keep a copy for humans when Bazel collects undeclared outputs.
  if (const char* outputs = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR")) {
    for (const std::string& path : {files->markdown, files->svg, files->json, files->junit}) {
      std::error_code ignored;
      fs::copy_file(path, fs::path(outputs) / fs::path(path).filename(),
                    fs::copy_options::overwrite_existing, ignored);
    }
  }
}

TEST(WriteReportFiles, ReportsAnUnwritableDirectory) {
  const fs::path blocker = TempDir("a_file");
  std::ofstream(blocker) << "not a directory";
  EXPECT_THAT(WriteReportFiles(SampleReport(), (blocker / "reports").string()),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("cannot create report directory")));
}

TEST(WriteReportFiles, WritesNothingForBadRows) {
  Report report = SampleReport();
  report.rows[0].failures = report.rows[0].trials + 1;
  const fs::path dir = TempDir("bad");
  EXPECT_THAT(WriteReportFiles(report, dir.string()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("//tests/race:already_running_original")));
  EXPECT_FALSE(fs::exists(dir));
}

TEST(WriteMarkdownWithChart, PutsTheChartBesideTheMarkdown) {
  const fs::path md = TempDir("single/hunt.md");
  absl::StatusOr<std::string> svg = WriteMarkdownWithChart(SampleReport(), md.string());
  ASSERT_THAT(svg, IsOk());
  EXPECT_EQ(*svg, TempDir("single/hunt.svg").string());
  EXPECT_THAT(Read(md.string()), HasSubstr("](hunt.svg)"));
  EXPECT_THAT(WriteMarkdownWithChart(SampleReport(), TempDir("x.txt").string()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("must end in .md")));
}

}  // namespace
}  // namespace flaky::report
