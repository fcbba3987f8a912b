#include "bench/options.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace flaky::bench {

absl::string_view SectionName(Section section) {
  switch (section) {
    case Section::kDetection: return "detection";
    case Section::kVerification: return "verification";
    case Section::kThroughput: return "throughput";
    case Section::kCosts: return "costs";
    case Section::kCalibration: return "calibration";
    case Section::kDirectDetection: return "direct";
    case Section::kMatrix: return "matrix";
  }
  return "?";
}

absl::string_view SectionTitle(Section section) {
  switch (section) {
    case Section::kDetection: return "1. Detection";
    case Section::kVerification: return "2. Verification";
    case Section::kThroughput: return "3. Throughput";
    case Section::kCosts: return "4. Costs";
    case Section::kCalibration: return "5. Calibration";
    case Section::kDirectDetection: return "6. Detection in direct mode";
    case Section::kMatrix: return "7. Foreign and model races x profiles";
  }
  return "?";
}

Sizes QuickSizes() {
  Sizes sizes;
  sizes.reps = 2;
  sizes.cap = 20;
  sizes.verify_runs = 40;
  sizes.repeat = 20;
  sizes.repeat_runs = 2;
  sizes.direct_verify_runs = 40;
  sizes.throughput_runs = 40;
  sizes.direct_throughput_runs = 100;
  sizes.loop_runs = 50;
  sizes.overhead_runs = 10;
  sizes.calibration_hunts = 10000;
  sizes.direct_none_seconds = 10;
  sizes.direct_best_runs = 100;
  sizes.matrix_runs = 4;
  sizes.matrix_none_seconds = 2;
  sizes.fixed_runs = 6;
  return sizes;
}

absl::StatusOr<Options> MakeOptions(const Inputs& inputs) {
  Options options;
  options.quick = inputs.quick;
  options.sizes = inputs.quick ? QuickSizes() : Sizes{};
  if (inputs.reps != 0) {
    if (inputs.reps < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("--reps=", inputs.reps, " must be at least 1"));
    }
    options.sizes.reps = inputs.reps;
  }
  if (inputs.cap != 0) {
    if (inputs.cap < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("--cap=", inputs.cap, " must be at least 1"));
    }
    options.sizes.cap = inputs.cap;
  }
  if (inputs.out.empty()) return absl::InvalidArgumentError("--out is empty");
  options.out = inputs.out;
  for (absl::string_view name :
       absl::StrSplit(inputs.skip, ',', absl::SkipWhitespace())) {
    name = absl::StripAsciiWhitespace(name);
    if (name == "foreign") {
      options.skip_foreign = true;
      continue;
    }
    bool found = false;
    for (Section section : kAllSections) {
      if (SectionName(section) == name) {
        options.skipped.insert(section);
        found = true;
      }
    }
    if (!found) {
      std::vector<std::string> names;
      for (Section section : kAllSections) {
        names.emplace_back(SectionName(section));
      }
      names.emplace_back("foreign");
      return absl::InvalidArgumentError(
          absl::StrCat("--skip: unknown section '", name, "' (sections: ",
                       absl::StrJoin(names, ", "), ")"));
    }
  }
  return options;
}

}  // namespace flaky::bench
