// Assess: what flaky's statistics say about a set of summaries, in the form
// the metrics export (rate interval and amplification per case, verdict per
// target and profile). `flaky serve` and a hunt's metric outputs call it on
// every refresh.
//
//   FLAKY_ASSIGN_OR_RETURN(std::vector<CaseSummary> rows, store->Summarize({}));
//   FLAKY_ASSIGN_OR_RETURN(Assessments assessments, Assess(rows, gate));
//   metrics->UpdateSummaries(rows, assessments);
#ifndef FLAKY_METRICS_ASSESS_H_
#define FLAKY_METRICS_ASSESS_H_

#include <vector>

#include "absl/status/statusor.h"
#include "flaky/metrics/metrics.h"
#include "flaky/results/summary.h"
#include "flaky/stats/verdict.h"

namespace flaky::metrics {

// Assess computes each case's rate with its two-sided interval at
// gate.confidence (stats::EstimateRate) and its amplification against the
// same case under "none" (baseline::Amplifications, the report's
// definition, at gate.confidence; baseline::GaugeValue), and the gate's
// verdict per (target, profile) (stats::JudgeTargets). Errors:
// InvalidArgument for bad gate options or a row with inconsistent counts.
// Thread-safe (pure).
absl::StatusOr<Assessments> Assess(
    const std::vector<results::CaseSummary>& summaries,
    const stats::GateOptions& gate);

}  // namespace flaky::metrics

#endif  // FLAKY_METRICS_ASSESS_H_
