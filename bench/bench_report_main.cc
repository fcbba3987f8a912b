// bench_report: prints the markdown tables of ci/bench from the store its
// hunts wrote (see tables.h for the hunt names it reads).
//
//   bench_report --store=bench-out/bench.db --section=detection|best|...
//       [--baseline=none] [--max_rate=0.001] [--confidence=0.95]
//
// Exits 0 with the table on stdout, 1 with one line on stderr when the
// store cannot be read or a hunt did not finish.
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "bench/tables.h"
#include "base/status_macros.h"
#include "flaky/results/store.h"
#include "flaky/stats/verdict.h"

ABSL_FLAG(std::string, store, "", "the SQLite store ci/bench's hunts wrote");
ABSL_FLAG(std::string, section, "",
          "which table: detection, verification or throughput; or best, "
          "the profile fastest to FLAKY in the detection hunts");
ABSL_FLAG(std::string, baseline, "none",
          "detection: the family the headline compares against");
ABSL_FLAG(double, max_rate, 0.001, "the gate's max flake rate");
ABSL_FLAG(double, confidence, 0.95, "the gate's confidence");

namespace {

absl::StatusOr<std::string> Table(const std::string& section) {
  const std::string store = absl::GetFlag(FLAGS_store);
  if (store.empty()) return absl::InvalidArgumentError("--store is required");
  flaky::stats::GateOptions gate;
  gate.max_rate = absl::GetFlag(FLAGS_max_rate);
  gate.confidence = absl::GetFlag(FLAGS_confidence);
  FLAKY_ASSIGN_OR_RETURN(std::vector<flaky::bench::BenchHunt> hunts,
                         flaky::bench::LoadBenchHunts(store));
  if (section == "detection") {
    return flaky::bench::DetectionTable(hunts, gate,
                                        absl::GetFlag(FLAGS_baseline));
  }
  if (section == "best") {
    FLAKY_ASSIGN_OR_RETURN(
        std::string profile,
        flaky::bench::BestProfile(hunts, gate, absl::GetFlag(FLAGS_baseline)));
    return profile + "\n";
  }
  if (section == "verification") {
    return flaky::bench::VerificationTable(hunts, gate);
  }
  if (section == "throughput") return flaky::bench::ThroughputTable(hunts);
  return absl::InvalidArgumentError(
      "--section must be detection, best, verification or throughput");
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "bench_report --store=DB "
      "--section=detection|best|verification|throughput");
  absl::ParseCommandLine(argc, argv);
  absl::StatusOr<std::string> table = Table(absl::GetFlag(FLAGS_section));
  if (!table.ok()) {
    std::cerr << "bench_report: " << table.status().message() << "\n";
    return 1;
  }
  std::cout << *table;
  return 0;
}
