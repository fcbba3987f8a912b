// How long the exact statistics take per call, so callers know whether
// judging after every round of a hunt, or every row of a large report, is
// cheap: `bazel run -c opt //flaky/stats:verdict_benchmark`.
#include <cstdint>

#include "benchmark/benchmark.h"
#include "flaky/stats/binomial.h"
#include "flaky/stats/compare.h"
#include "flaky/stats/verdict.h"
#include "flaky/stats/plan.h"

namespace flaky::stats {
namespace {

void BM_EstimateRateExact(benchmark::State& state) {
  const int64_t failures = state.range(0);
  const int64_t trials = state.range(1);
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        EstimateRate(failures, trials, 0.95, IntervalMethod::kClopperPearson));
  }
}
BENCHMARK(BM_EstimateRateExact)->Args({37, 500})->Args({3, 1000000})->Args({5000, 100000});

void BM_Judge(benchmark::State& state) {
  GateOptions options;
  options.max_rate = 0.001;
  options.confidence = 0.95;
  const int64_t failures = state.range(0);
  const int64_t trials = state.range(1);
  for (auto _ : state) benchmark::DoNotOptimize(Judge(failures, trials, options));
}
// CLEAN, FLAKY, and INCONCLUSIVE (which also plans the missing runs).
BENCHMARK(BM_Judge)->Args({0, 3000})->Args({37, 500})->Args({2, 500})->Args({100, 60000});

void BM_VerifyFixUndecided(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(VerifyFix(5, 100, 1, 100, 0.05));
}
BENCHMARK(BM_VerifyFixUndecided);

void BM_RunsToClaimBelow(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(RunsToClaimBelow(0.001, 0.95, state.range(0)));
}
BENCHMARK(BM_RunsToClaimBelow)->Arg(0)->Arg(2)->Arg(50);

}  // namespace
}  // namespace flaky::stats
