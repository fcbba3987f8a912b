// The real `flaky` binary feeds the dashboards' trial metrics live: a hunt
// with all three metric outputs on (--metrics_address=127.0.0.1:0, a real
// Pushgateway, --textfile) must show flaky_trial_duration_seconds and
// flaky_trials_total for every run while it runs (the live endpoint and
// the periodic pushes) and after it ends (the final push and the
// textfile). Bazel is tests/e2e/testdata/scripted_bazel.sh: three runs of
// one 0.25 s test case, then it keeps running until flaky's Ctrl-C, so the
// live outputs can be read while the hunt is still going.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/status_matchers.h"
#include "flaky/metrics/testing/http.h"
#include "flaky/metrics/testing/server_process.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::metrics {
namespace {

using ::flaky::metrics::testing::HttpGet;
using ::flaky::metrics::testing::PollUntil;
using ::flaky::metrics::testing::PushgatewaySpec;
using ::flaky::metrics::testing::ServerProcess;
using ::flaky::testing::IsOk;
using ::testing::HasSubstr;
using ::testing::Optional;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Runfile(const std::string& path) {
  return absl::StrCat(std::getenv("TEST_SRCDIR"), "/", std::getenv("TEST_WORKSPACE"),
                      "/", path);
}

// Sample returns the value of the sample of `name` (in Prometheus's text
// format) whose labels include every one of `labels` ("key=\"value\""),
// or nullopt.
std::optional<double> Sample(absl::string_view text, absl::string_view name,
                             const std::vector<std::string>& labels) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::StartsWith(line, absl::StrCat(name, "{"))) continue;
    const size_t close = line.rfind('}');
    if (close == absl::string_view::npos) continue;
    const absl::string_view label_text = line.substr(name.size() + 1, close - name.size() - 1);
    bool all = true;
    for (const std::string& label : labels) {
      all = all && absl::StrContains(absl::StrCat(",", label_text, ","),
                                     absl::StrCat(",", label, ","));
    }
    double value = 0;
    if (all && absl::SimpleAtod(line.substr(close + 1), &value)) return value;
  }
  return std::nullopt;
}

const std::vector<std::string> kSeries = {"target=\"//t:a_test\"", "profile=\"none\""};

std::vector<std::string> With(std::vector<std::string> labels, std::string more) {
  labels.push_back(std::move(more));
  return labels;
}

// ExpectTrialMetrics checks what three 0.25 s passing runs make: the
// histogram's count, sum and buckets and the trial counter.
void ExpectTrialMetrics(const std::string& where, const std::string& text) {
  SCOPED_TRACE(where);
  EXPECT_THAT(Sample(text, "flaky_trial_duration_seconds_count", kSeries), Optional(3.0))
      << text;
  EXPECT_THAT(Sample(text, "flaky_trial_duration_seconds_sum", kSeries), Optional(0.75));
  EXPECT_THAT(Sample(text, "flaky_trial_duration_seconds_bucket", With(kSeries, "le=\"0.1\"")),
              Optional(0.0));
  EXPECT_THAT(Sample(text, "flaky_trial_duration_seconds_bucket", With(kSeries, "le=\"0.25\"")),
              Optional(3.0));
  EXPECT_THAT(Sample(text, "flaky_trials_total",
                     With(With(kSeries, "test_case=\"Suite.Race\""), "outcome=\"pass\"")),
              Optional(3.0));
}

TEST(HuntMetricsE2e, TheBinaryFeedsTrialDurationsToEveryOutputLiveAndAtTheEnd) {
  const std::string tmp = std::getenv("TEST_TMPDIR");
  absl::StatusOr<std::unique_ptr<ServerProcess>> gateway =
      ServerProcess::Start(PushgatewaySpec(tmp + "/pushgateway.log"));
  ASSERT_THAT(gateway, IsOk()) << "install Debian's prometheus-pushgateway";

  const std::string ws = tmp + "/ws";
  ASSERT_EQ(mkdir(ws.c_str(), 0755), 0);
  std::ofstream(ws + "/WORKSPACE") << "workspace(name = \"t\")\n";
  const std::string err = tmp + "/flaky.stderr";
  const std::string mark = tmp + "/bazel_mark";
  const std::string textfile = tmp + "/flaky.prom";
  const std::string flaky = Runfile("flaky/flaky");
  std::vector<std::string> argv = {
      flaky,
      "hunt",
      "//t:a_test",
      "--runs=3",
      "--bazel=" + Runfile("tests/e2e/testdata/scripted_bazel.sh"),
      "--store=" + tmp + "/flaky.db",
      "--starve_wrapper=",
      "--metrics_address=127.0.0.1:0",
      "--pushgateway=" + (*gateway)->url(),
      "--push_interval=100ms",
      "--textfile=" + textfile};
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (chdir(ws.c_str()) != 0) _exit(120);
    unsetenv("BUILD_WORKSPACE_DIRECTORY");
    unsetenv("BUILD_WORKING_DIRECTORY");
    setenv("FAKE_BAZEL_HANG", mark.c_str(), 1);
    if (freopen(err.c_str(), "w", stderr) == nullptr) _exit(122);
    if (freopen((tmp + "/flaky.stdout").c_str(), "w", stdout) == nullptr) _exit(123);
    std::vector<char*> raw;
    for (std::string& arg : argv) raw.push_back(arg.data());
    raw.push_back(nullptr);
    execv(flaky.c_str(), raw.data());
    _exit(121);
  }
  // Stop the hunt whatever happens below, so no flaky outlives the test.
  struct Reaper {
    pid_t pid;
    int status = 0;
    bool reaped = false;
    int Stop() {
      if (!reaped) {
        kill(pid, SIGINT);
        waitpid(pid, &status, 0);
        reaped = true;
      }
      return status;
    }
    ~Reaper() { Stop(); }
  } reaper{pid};

  // Live, while the hunt runs: the endpoint whose URL flaky prints...
  std::string url;
  ASSERT_THAT(PollUntil("flaky printing its metrics URL", absl::Seconds(60),
                        [&](std::string* note) {
                          const std::string text = ReadFile(err);
                          *note = text;
                          const size_t at = text.find("live metrics at ");
                          if (at == std::string::npos) return false;
                          url = text.substr(at + 16, text.find('\n', at) - at - 16);
                          return true;
                        }),
              IsOk());
  std::string live;
  ASSERT_THAT(PollUntil("three runs on /metrics", absl::Seconds(60),
                        [&](std::string* note) {
                          absl::StatusOr<testing::HttpResponse> r = HttpGet(url);
                          if (!r.ok()) *note = std::string(r.status().message());
                          live = r.ok() ? r->body : "";
                          return Sample(live, "flaky_trial_duration_seconds_count",
                                        kSeries) == 3.0;
                        }),
              IsOk())
      << live;
  ExpectTrialMetrics("/metrics during the hunt", live);
  // ... and the periodic pushes.
  std::string pushed;
  ASSERT_THAT(PollUntil("three runs pushed", absl::Seconds(60),
                        [&](std::string* note) {
                          absl::StatusOr<testing::HttpResponse> r =
                              HttpGet((*gateway)->url() + "/metrics");
                          if (!r.ok()) *note = std::string(r.status().message());
                          pushed = r.ok() ? r->body : "";
                          return Sample(pushed, "flaky_trial_duration_seconds_count",
                                        With(kSeries, "job=\"flaky\"")) == 3.0;
                        }),
              IsOk())
      << pushed;
  ExpectTrialMetrics("the Pushgateway during the hunt", pushed);
  ASSERT_TRUE(ReadFile(textfile).empty()) << "the textfile is written at the end";

  // Ctrl-C ends the hunt: the final push and the textfile keep every run.
  const int status = reaper.Stop();
  ASSERT_TRUE(WIFEXITED(status)) << ReadFile(err);
  EXPECT_EQ(WEXITSTATUS(status), 130) << ReadFile(err);
  EXPECT_EQ(ReadFile(mark), "interrupted\n");
  ExpectTrialMetrics("the textfile", ReadFile(textfile));
  absl::StatusOr<testing::HttpResponse> final_push = HttpGet((*gateway)->url() + "/metrics");
  ASSERT_THAT(final_push, IsOk());
  ExpectTrialMetrics("the final push", final_push->body);
  // The final state carries the rates the report computed, too.
  EXPECT_THAT(final_push->body, HasSubstr("flaky_flake_rate_ratio{"));
}

}  // namespace
}  // namespace flaky::metrics
