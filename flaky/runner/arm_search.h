// The search behind `--profiles=auto`: which starvation profile (arm) of a
// family exposes a test's failures fastest, found within the hunt by
// successive halving (Jamieson and Talwalkar, 2016; Shaker, ICSE 2020,
// picks stress settings offline, flaky does it online).
//
//   ArmSearch search(AutoArms(/*seed=*/1));
//   // the hunt runs one round of every active arm, then:
//   search.Record("chaos:1", /*runs=*/10, /*failed_runs=*/3, absl::Seconds(6));
//   ...
//   search.EndPass();              // keeps the better half of the arms
//   search.Active();               // the arms that still get runs
//   search.Winner();               // set once one arm is left
//   search.Skip("cgroup:20", "no writable cgroup hierarchy");
//
// Every pass gives each active arm one round; after it the arms are ranked
// by their failure rate so far, (failed + 1/2) / (runs + 1) (counts pool
// over passes; the half keeps early luck from deciding alone), ties going
// to the arm that costs less time per run, and the better half (rounded
// up) stays. With k arms the winner is known after ceil(log2 k) passes and
// then runs alone.
//
// Why the verdicts stay valid although the profile was chosen by looking
// at the data: each arm's verdict is anytime-valid on its own runs however
// many runs it got and why (stats/anytime.h: the evidence of an arm is a
// supermartingale under any predictable allocation of runs), and FLAKY is
// corrected by Holm over every arm's every case (stats/verdict.h), eliminated
// arms included. So choosing the winner, and stopping when it is decided,
// cannot make any arm's FLAKY or CLEAN wrong more often than 1 - C.
//
// Not thread-safe; the hunt owns it.
#ifndef FLAKY_RUNNER_ARM_SEARCH_H_
#define FLAKY_RUNNER_ARM_SEARCH_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace flaky::runner {

// kAutoProfile is the --profiles value that asks for the search.
inline constexpr char kAutoProfile[] = "auto";

// AutoArms returns the family `auto` searches, with chaos seeds from
// `seed`: the generic defaults of each kind of starvation (a schedule
// perturbation with and without a preloaded shim, competing load, a CPU
// quota, pinning with perturbation).
std::vector<std::string> AutoArms(uint64_t seed);

// Arm is one profile's standing in the search. Plain data.
struct Arm {
  std::string profile;
  int64_t runs = 0;
  int64_t failed_runs = 0;
  absl::Duration wall = absl::ZeroDuration();
  bool active = true;
  // Set when the arm cannot be applied on this machine: why.
  std::optional<std::string> skipped;
  int eliminated_after_pass = 0;  // 0 while active or skipped
  // Set when the arm settled the verdicts of these targets (all it could
  // run) before any arm settled the hunt's others; the search goes on for
  // those.
  std::vector<std::string> settled_targets;
};

class ArmSearch {
 public:
  explicit ArmSearch(std::vector<std::string> profiles);

  // Record adds one round's outcome to `profile`'s counts.
  // Errors: NotFound for a profile that is not an arm.
  absl::Status Record(const std::string& profile, int64_t runs, int64_t failed_runs,
                      absl::Duration wall);

  // Skip takes `profile` out of the search for good, with the reason.
  // Errors: NotFound for a profile that is not an arm.
  absl::Status Skip(const std::string& profile, const std::string& reason);

  // EndPass ranks the active arms (file comment) and keeps the better
  // half; nothing changes while one arm or none is active.
  void EndPass();

  // Choose makes `profile` the winner at once (it settled its verdicts
  // first) and stops the other arms. Errors: NotFound.
  absl::Status Choose(const std::string& profile);

  // Settle takes `profile` out of the search because it settled `targets`,
  // the only ones it could run (it refused the hunt's others), first: they
  // are decided, and the search goes on among the other arms for the rest.
  // Errors: NotFound.
  absl::Status Settle(const std::string& profile, std::vector<std::string> targets);

  // Revive brings `profile`, dropped after a pass, back into the search:
  // after an arm settled the targets it could run, the arms that were
  // dropped in its favour may be the only ones left for the rest. Its
  // counts stay. Errors: NotFound; FailedPrecondition for an arm that is
  // active, skipped or settled.
  absl::Status Revive(const std::string& profile);

  // Active lists the arms that still get runs, in the arms' order.
  std::vector<std::string> Active() const;

  // Winner is the one arm left (or chosen); nullopt while the search runs
  // or when every arm was skipped.
  std::optional<std::string> Winner() const;

  const std::vector<Arm>& arms() const { return arms_; }
  int passes() const { return passes_; }

  // Describe is the search in a few lines for the hunt's output: every
  // arm's runs, failed runs and fate, and the winner.
  std::string Describe() const;

 private:
  Arm* Find(const std::string& profile);

  std::vector<Arm> arms_;
  int passes_ = 0;
  std::optional<std::string> chosen_;
};

}  // namespace flaky::runner

#endif  // FLAKY_RUNNER_ARM_SEARCH_H_
