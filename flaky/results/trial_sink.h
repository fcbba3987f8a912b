// The receiving end of a hunt's trial stream: the runner hands the trials
// of every finished run to each sink in turn, as soon as it has read them
// (the store writer, the Prometheus exporter, the progress line), so none
// of them has to read the others' output to stay current.
//
//   class CountingSink : public TrialSink {
//    public:
//     absl::Status Accept(absl::Span<const Trial> run) override {
//       trials += run.size();
//       return absl::OkStatus();
//     }
//     size_t trials = 0;
//   };
//   CountingSink counter;
//   RunHunt(options, {..., .sinks = {&counter}});
#ifndef FLAKY_RESULTS_TRIAL_SINK_H_
#define FLAKY_RESULTS_TRIAL_SINK_H_

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "flaky/results/trial.h"

namespace flaky::results {

// TrialSink receives a hunt's trials. The runner calls it from one thread.
class TrialSink {
 public:
  virtual ~TrialSink() = default;

  // Accept takes the trials of one finished run of one target (one test
  // process: each of its cases, and each iteration under --repeat), in
  // execution order; never empty. An error ends the hunt, as a failed
  // store write does, so a sink that can live with its own failures (a
  // metrics push) must not return them.
  virtual absl::Status Accept(absl::Span<const Trial> run) = 0;

  // Flush is called at the end of every round, of the hunt, and when it
  // fails or is interrupted: what was accepted must then be written
  // wherever the sink writes. The default has nothing to write.
  virtual absl::Status Flush() { return absl::OkStatus(); }
};

}  // namespace flaky::results

#endif  // FLAKY_RESULTS_TRIAL_SINK_H_
