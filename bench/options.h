// What one `bench` run measures and how much: the sections to run and
// their sizes, from ci/bench's flags (--quick, --reps, --cap, --skip, --out).
//
//   absl::StatusOr<Options> options = MakeOptions({.quick = true,
//                                                  .skip = "foreign,costs"});
//   if (options->Runs(Section::kThroughput)) ...
//   options->sizes.throughput_runs;   // 40 with --quick, 200 without
//
// Pure: no flags are read here (bench_main.cc copies them in).
#ifndef FLAKY_BENCH_OPTIONS_H_
#define FLAKY_BENCH_OPTIONS_H_

#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace flaky::bench {

// Section is one part of bench.md, in the order they run.
enum class Section {
  kDetection,        // 1. the originals under each profile, Bazel mode
  kVerification,     // 2. the fixed tests to CLEAN
  kThroughput,       // 3. trivial test: plain Bazel, flaky, direct, tight loop
  kCosts,            // 4. wrapper, store, /metrics, peak memory
  kCalibration,      // 5. the verdict rule's error rates
  kDirectDetection,  // 6. the originals in direct mode: none against the best
  kMatrix,           // 7. foreign and model races x profiles
};

// kAllSections lists every section in run order.
inline constexpr Section kAllSections[] = {
    Section::kDetection,   Section::kVerification,    Section::kThroughput,
    Section::kCosts,       Section::kCalibration,     Section::kDirectDetection,
    Section::kMatrix};

// SectionName is the section's --skip name ("detection", ..., "direct",
// "matrix").
absl::string_view SectionName(Section section);

// SectionTitle is the section's heading in bench.md without its details
// ("1. Detection", ..., "7. Foreign and model races x profiles").
absl::string_view SectionTitle(Section section);

// Sizes are the run counts of every section.
struct Sizes {
  int reps = 5;                  // independent hunts per detection profile
  int cap = 60;                  // most runs per target in one detection hunt
  int round_runs = 10;           // runs per Bazel invocation while hunting
  int verify_runs = 3332;        // `flaky plan --max_rate=0.001`: runs for CLEAN
  int repeat = 340;              // in-process iterations per verification run
  int repeat_runs = 10;          // repeat_runs x repeat >= verify_runs
  int direct_verify_runs = 3332; // direct gate of the fixed tests (the most)
  int throughput_runs = 200;     // plain Bazel and flaky hunt (Bazel mode)
  int direct_throughput_runs = 2000;  // flaky hunt --mode=direct
  int loop_runs = 500;           // tight-loop runs per core
  int overhead_runs = 100;       // wrapper overhead runs per profile
  int calibration_hunts = 1000000;
  // Direct detection under none: how long it hunts (not until a verdict:
  // its CLEAN, which comes at 3332 clean runs, would end it long before
  // it could show the best profile's lead). Seconds.
  int direct_none_seconds = 300;
  int direct_best_runs = 2000;   // direct detection under the best profile
  int matrix_runs = 60;          // per matrix target and profile: the most runs
  // The matrix's `none`: how long it hunts, the time issue 14 gives `auto`
  // to reach FLAKY (none gets the same budget). Seconds.
  int matrix_none_seconds = 60;
  int fixed_runs = 300;          // per fixed twin in the matrix
};

// QuickSizes are --quick's sizes: a smoke run, numbers meaningless.
Sizes QuickSizes();

// Inputs are the flags as given.
struct Inputs {
  bool quick = false;
  int reps = 0;  // 0: the default for quick or not
  int cap = 0;   // 0: the default
  std::string skip = "";  // comma-separated section names, or "foreign"
  std::string out = "bench-out";
};

// Options is a validated run.
struct Options {
  bool quick = false;
  Sizes sizes;
  std::set<Section> skipped;
  // skip_foreign: section 7 without bench/foreign's targets (--skip=foreign;
  // they need `ci/bootstrap --foreign`).
  bool skip_foreign = false;
  std::string out = "bench-out";

  // Runs is true when `section` is not skipped.
  bool Runs(Section section) const { return skipped.count(section) == 0; }
};

// MakeOptions validates `inputs`. InvalidArgument naming the bad value: a
// --skip name that is no section (listing the names), --reps or --cap
// below 1 when given, an empty --out.
absl::StatusOr<Options> MakeOptions(const Inputs& inputs);

}  // namespace flaky::bench

#endif  // FLAKY_BENCH_OPTIONS_H_
