// Store throughput: trials inserted per second in batches (one transaction
// per batch, as the runner writes one `bazel test` invocation at a time),
// and the cost of a summary over a large store.
//
//   bazel run -c opt //flaky/results:store_benchmark
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "flaky/results/signature.h"
#include "flaky/results/store.h"

namespace flaky::results {
namespace {

// BenchStore is a store in a fresh temporary directory, removed afterwards.
struct BenchStore {
  BenchStore() {
    const char* tmp = std::getenv("TEST_TMPDIR");
    std::string tmpl =
        absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/store_benchmark.XXXXXX");
    if (mkdtemp(tmpl.data()) == nullptr) std::abort();
    dir = tmpl;
    StoreOptions options;
    options.keep_logs = false;  // measures the database, not file copies
    auto opened = Store::Open(dir + "/flaky.db", options);
    if (!opened.ok()) std::abort();
    store = *std::move(opened);
    HuntRecord hunt;
    hunt.id = "bench";
    if (!store->BeginHunt(hunt).ok()) std::abort();
  }
  ~BenchStore() {
    store.reset();
    std::filesystem::remove_all(dir);
  }
  std::string dir;
  std::unique_ptr<Store> store;
};

std::vector<Trial> Batch(int size, int first_run) {
  std::vector<Trial> trials;
  trials.reserve(size);
  for (int i = 0; i < size; ++i) {
    Trial trial;
    trial.hunt_id = "bench";
    trial.target = "//tests/race:already_running_original";
    trial.test_case = i % 2 ? "RunStringTest.AlreadyRunning" : "RunStringTest.Other";
    trial.profile = i % 3 ? "cgroup:20" : "none";
    trial.run = first_run + i;
    trial.duration = absl::Milliseconds(40);
    trial.started_at = absl::FromUnixSeconds(1795800000 + first_run + i);
    trial.outcome = i % 17 == 0 ? Outcome::kFail : Outcome::kPass;
    if (trial.outcome == Outcome::kFail) {
      trial.failure_message = absl::StrCat("unrecognized interpreter ID ", i);
      trial.failure_signature = FailureSignature(trial.failure_message);
      trial.seed = i;
    }
    trial.log_path = "/bazel-testlogs/tests/race/x/run_1_of_500/test.log";
    trial.commit = "8cd9e98";
    trial.host = "bench";
    trials.push_back(std::move(trial));
  }
  return trials;
}

void BM_InsertTrials(benchmark::State& state) {
  const int batch_size = static_cast<int>(state.range(0));
  BenchStore bench;
  const std::vector<Trial> batch = Batch(batch_size, 1);
  for (auto _ : state) {
    if (!bench.store->InsertTrials(batch).ok()) std::abort();
  }
  state.SetItemsProcessed(state.iterations() * batch_size);
}
// Wall-clock rates: the runner waits for the commit, not for CPU time.
BENCHMARK(BM_InsertTrials)
    ->Arg(1)
    ->Arg(100)
    ->Arg(1000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_Summarize(benchmark::State& state) {
  const int trials = static_cast<int>(state.range(0));
  BenchStore bench;
  for (int run = 1; run <= trials; run += 1000) {
    if (!bench.store->InsertTrials(Batch(1000, run)).ok()) std::abort();
  }
  for (auto _ : state) {
    auto summary = bench.store->Summarize({});
    if (!summary.ok()) std::abort();
    benchmark::DoNotOptimize(summary);
  }
  state.SetItemsProcessed(state.iterations() * trials);
}
BENCHMARK(BM_Summarize)->Arg(100000)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace flaky::results
