// How long flaky's metrics take on the paths that matter: rendering
// /metrics (what every scrape, push and textfile write pays) for 10,000
// series, and recording one trial (what a hunt pays per trial).
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "flaky/metrics/metrics.h"
#include "flaky/metrics/textfile.h"
#include "prometheus/registry.h"

namespace flaky::metrics {
namespace {

constexpr int kTargets = 50;
constexpr int kCasesPerTarget = 50;
constexpr int kProfiles = 4;  // 50 * 50 * 4 = 10,000 flaky_trials_total series

results::Trial MakeTrial(int target, int test_case, int profile) {
  results::Trial trial;
  trial.target = absl::StrCat("//tests/pkg", target, ":target_", target);
  trial.test_case = absl::StrCat("Suite", test_case, ".Case", test_case);
  trial.profile = absl::StrCat("cgroup:", 10 * (profile + 1));
  trial.duration = absl::Milliseconds(test_case);
  return trial;
}

void BM_Render10kSeries(benchmark::State& state) {
  prometheus::Registry registry;
  MetricsOptions options;
  options.max_cases_per_target = kCasesPerTarget;
  auto metrics = FlakyMetrics::Create(registry, options);
  for (int t = 0; t < kTargets; ++t) {
    for (int c = 0; c < kCasesPerTarget; ++c) {
      for (int p = 0; p < kProfiles; ++p) {
        if (!(*metrics)->RecordTrial(MakeTrial(t, c, p)).ok()) {
          state.SkipWithError("RecordTrial failed");
          return;
        }
      }
    }
  }
  size_t bytes = 0;
  for (auto _ : state) {
    absl::StatusOr<std::string> text = RenderText(registry);
    bytes = text->size();
    benchmark::DoNotOptimize(text);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}
BENCHMARK(BM_Render10kSeries)->Unit(benchmark::kMillisecond);

void BM_RecordTrial(benchmark::State& state) {
  prometheus::Registry registry;
  auto metrics = FlakyMetrics::Create(registry, MetricsOptions());
  const results::Trial trial = MakeTrial(1, 2, 3);
  for (auto _ : state) {
    benchmark::DoNotOptimize((*metrics)->RecordTrial(trial));
  }
}
BENCHMARK(BM_RecordTrial);

}  // namespace
}  // namespace flaky::metrics
