#include "flaky/metrics/textfile.h"

#include <dirent.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status_matchers.h"
#include "base/test_files.h"
#include "flaky/metrics/metrics.h"
#include "flaky/metrics/testing/http.h"
#include "flaky/metrics/testing/server_process.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"

namespace flaky::metrics {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::ReadFileOrEmpty;
using ::flaky::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string MakeDir(const std::string& name) {
  const std::string dir = absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name);
  mkdir(dir.c_str(), 0755);
  return dir;
}

std::vector<std::string> List(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  while (dirent* entry = readdir(d)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(d);
  return names;
}

std::unique_ptr<FlakyMetrics> MetricsWithOneTrial(prometheus::Registry& registry,
                                                  results::Outcome outcome) {
  auto metrics = FlakyMetrics::Create(registry, MetricsOptions());
  EXPECT_THAT(metrics, IsOk());
  results::Trial trial;
  trial.target = "//tests/race:already_running_fixed";
  trial.test_case = "RunStringTest.AlreadyRunning";
  trial.profile = "none";
  trial.outcome = outcome;
  EXPECT_THAT((*metrics)->RecordTrial(trial), IsOk());
  return std::move(metrics).value();
}

TEST(WriteTextfile, WritesTheExpositionFormatAndLeavesNoTemporaryFile) {
  prometheus::Registry registry;
  auto metrics = MetricsWithOneTrial(registry, results::Outcome::kPass);
  const std::string dir = MakeDir("write");
  const std::string path = dir + "/flaky.prom";
  ASSERT_THAT(WriteTextfile(path, registry), IsOk());
  // A second write replaces the first.
  ASSERT_THAT(metrics->RecordTrial([] {
    results::Trial trial;
    trial.target = "//tests/race:already_running_fixed";
    trial.test_case = "RunStringTest.AlreadyRunning";
    trial.profile = "none";
    return trial;
  }()), IsOk());
  ASSERT_THAT(WriteTextfile(path, registry), IsOk());

  auto rendered = RenderText(registry);
  ASSERT_THAT(rendered, IsOk());
  EXPECT_EQ(ReadFileOrEmpty(path), *rendered);
  EXPECT_THAT(*rendered, HasSubstr("outcome=\"pass\",profile=\"none\","
                                   "target=\"//tests/race:already_running_fixed\","
                                   "test_case=\"RunStringTest.AlreadyRunning\"} 2"));
  EXPECT_THAT(List(dir), ElementsAre("flaky.prom"));
  struct stat info;
  ASSERT_EQ(stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0644u);
}

TEST(WriteTextfile, RejectsAPathNodeExporterWouldIgnore) {
  prometheus::Registry registry;
  EXPECT_THAT(WriteTextfile(MakeDir("suffix") + "/flaky.txt", registry),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("must end in .prom")));
}

TEST(WriteTextfile, ReportsAMissingDirectoryAndKeepsNothing) {
  prometheus::Registry registry;
  const std::string dir = MakeDir("missing");
  EXPECT_THAT(WriteTextfile(dir + "/no/such/dir/flaky.prom", registry),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("No such file or directory")));
  // A regular file where a directory should be: not writable even as root.
  const std::string file = dir + "/plain";
  std::ofstream(file) << "x";
  EXPECT_THAT(WriteTextfile(file + "/flaky.prom", registry),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("Not a directory")));
  EXPECT_THAT(List(dir), ElementsAre("plain"));
}

// node_exporter's textfile collector is the consumer: it must accept the
// file (node_textfile_scrape_error 0) and re-export flaky's series.
TEST(WriteTextfile, NodeExporterReadsTheFile) {
  prometheus::Registry registry;
  auto metrics = MetricsWithOneTrial(registry, results::Outcome::kFail);
  const std::string dir = MakeDir("node_exporter");
  ASSERT_THAT(WriteTextfile(dir + "/flaky.prom", registry), IsOk());

  testing::ServerSpec spec;
  spec.binary = "/usr/bin/prometheus-node-exporter";
  spec.args = {"--web.listen-address=127.0.0.1:{PORT}",
               "--collector.disable-defaults", "--collector.textfile",
               "--collector.textfile.directory=" + dir};
  spec.ready_path = "/metrics";
  spec.log_path = absl::StrCat(std::getenv("TEST_TMPDIR"), "/node_exporter.log");
  auto server = testing::ServerProcess::Start(spec);
  ASSERT_THAT(server, IsOk()) << "install Debian's prometheus-node-exporter";
  auto response = testing::HttpGet((*server)->url() + "/metrics");
  ASSERT_THAT(response, IsOk());
  EXPECT_THAT(response->body, HasSubstr("node_textfile_scrape_error 0"));
  EXPECT_THAT(response->body,
              HasSubstr("flaky_trials_total{outcome=\"fail\",profile=\"none\","
                        "target=\"//tests/race:already_running_fixed\","
                        "test_case=\"RunStringTest.AlreadyRunning\"} 1"));
  EXPECT_THAT(response->body, HasSubstr("flaky_trial_duration_seconds_bucket{"));
  EXPECT_THAT((*server)->Stop(), IsOk());
}

}  // namespace
}  // namespace flaky::metrics
