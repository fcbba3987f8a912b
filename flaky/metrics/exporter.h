// What the `flaky` CLI calls: one object per command that wires the
// metrics to their outputs.
//
// A hunt (`flaky hunt --metrics_address=... --pushgateway=URL
// --textfile=PATH`) records trials live, as a sink of the hunt's trial
// stream, and exports the final state:
//
//   ExportOptions options;
//   options.metrics.version = kVersion;
//   options.metrics.commit = commit;
//   options.listen_address = "127.0.0.1:9477";        // "" = no live endpoint
//   options.pushgateway_url = "http://127.0.0.1:9091"; // "" = no push
//   options.textfile_path = "/var/lib/node_exporter/flaky.prom";  // "" = none
//   FLAKY_ASSIGN_OR_RETURN(auto exporter, HuntExporter::Start(options));
//   RunHunt(hunt_options, {..., .sinks = {exporter.get()}});  // live
//   FLAKY_RETURN_IF_ERROR(exporter->Finish(summaries, assessments));
//
// `flaky serve` answers every scrape from the store:
//
//   FLAKY_ASSIGN_OR_RETURN(auto server, StoreServer::Start(
//       address, metrics_options, [&]() -> absl::StatusOr<Snapshot> {
//         FLAKY_ASSIGN_OR_RETURN(auto summaries, store->Summarize(filter));
//         return Snapshot{summaries, Assess(summaries)};
//       }));
//   std::cout << "serving " << server->url() << "\n";  // then wait for a signal
#ifndef FLAKY_METRICS_EXPORTER_H_
#define FLAKY_METRICS_EXPORTER_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "flaky/metrics/exposer.h"
#include "flaky/metrics/metrics.h"
#include "flaky/metrics/pusher.h"
#include "flaky/metrics/refresh.h"
#include "flaky/results/summary.h"
#include "flaky/results/trial.h"
#include "flaky/results/trial_sink.h"
#include "prometheus/registry.h"

namespace flaky::metrics {

// Snapshot is the state exported at one scrape or push: summaries from
// the store and what stats says about them.
struct Snapshot {
  std::vector<results::CaseSummary> summaries;
  Assessments assessments;
};

// SnapshotSource produces the current Snapshot (e.g. from the store).
using SnapshotSource = std::function<absl::StatusOr<Snapshot>()>;

// ExportOptions selects a hunt's metric outputs; every one is optional.
struct ExportOptions {
  MetricsOptions metrics;
  // listen_address serves live metrics while the hunt runs ("" = off).
  std::string listen_address;
  // pushgateway_url receives periodic pushes and a final one ("" = off).
  std::string pushgateway_url;
  std::string push_job = "flaky";
  // instance is the grouping label of the pushes ("" = this host's name);
  // the commit label is metrics.commit.
  std::string instance;
  // push_interval between periodic pushes; zero pushes only in Finish.
  absl::Duration push_interval = absl::Seconds(30);
  // textfile_path is written atomically in Finish ("" = off).
  std::string textfile_path;
  // snapshot, when set, refreshes the gauges and counters before every
  // scrape, push and textfile write (one call at a time, from the server's
  // or the pusher's thread), so live outputs show rates and verdicts of
  // what the store holds so far without the runner calling RecordTrial.
  // A failing call keeps the previous values and counts
  // flaky_metrics_refresh_errors_total.
  SnapshotSource snapshot;
};

// HuntExporter owns a registry, the metrics in it and their outputs for
// one hunt, and is a sink of the hunt's trial stream: every trial counts in
// flaky_trials_total and flaky_trial_duration_seconds as soon as its run
// is read. Thread-safe like FlakyMetrics.
class HuntExporter : public results::TrialSink {
 public:
  // Start validates the options, starts the live endpoint and the periodic
  // pusher. Errors as MetricsEndpoint::Start and Pusher::Create (a bad URL,
  // a port in use); nothing is left running on error.
  static absl::StatusOr<std::unique_ptr<HuntExporter>> Start(
      const ExportOptions& options);

  ~HuntExporter() override;

  // RecordTrial counts one trial live (see FlakyMetrics::RecordTrial).
  absl::Status RecordTrial(const results::Trial& trial);

  // Accept records every trial of one run (RecordTrial); the first error.
  absl::Status Accept(absl::Span<const results::Trial> run) override;

  // Finish sets the final summaries and assessments, stops the periodic
  // pusher with a final push and writes the textfile. Every output is
  // attempted; the status is the first failure, with the other failures'
  // messages appended. FailedPrecondition when called twice. With a
  // snapshot source the push and the textfile refresh from it anyway, so
  // empty arguments are fine.
  absl::Status Finish(const std::vector<results::CaseSummary>& summaries,
                      const Assessments& assessments);

  // endpoint returns the live endpoint, or nullptr when off.
  const MetricsEndpoint* endpoint() const { return endpoint_.get(); }
  // metrics returns the metrics, for UpdateSummaries during the hunt.
  FlakyMetrics& metrics() { return *metrics_; }
  // registry returns the registry every output reads (through the
  // snapshot refresh when one is set).
  const std::shared_ptr<prometheus::Registry>& registry() const {
    return registry_;
  }

 private:
  HuntExporter() = default;

  std::string textfile_path_;
  bool finished_ = false;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<FlakyMetrics> metrics_;
  // What the outputs collect: the registry, or a refreshing wrapper of it.
  std::shared_ptr<prometheus::Collectable> collectable_;
  std::unique_ptr<Pusher> pusher_;
  std::unique_ptr<PeriodicPusher> periodic_;
  std::unique_ptr<MetricsEndpoint> endpoint_;
};

// StoreServer serves metrics computed from a snapshot source at every
// scrape. A failing source keeps the previous values and counts
// flaky_metrics_refresh_errors_total. Thread-safe.
class StoreServer {
 public:
  // Start serves at `address` (see MetricsEndpoint::Start for errors).
  // `snapshot` is called on the server's thread, once per scrape, and must
  // stay valid until the server is destroyed.
  static absl::StatusOr<std::unique_ptr<StoreServer>> Start(
      const std::string& address, const MetricsOptions& options,
      SnapshotSource snapshot);

  ~StoreServer();

  // url returns "http://HOST:PORT/metrics".
  std::string url() const { return endpoint_->url(); }

  // warning: MetricsEndpoint::warning of its endpoint.
  const std::string& warning() const { return endpoint_->warning(); }
  // port returns the listening port.
  int port() const { return endpoint_->port(); }
  // last_error returns the latest failed refresh's status (OK otherwise).
  absl::Status last_error() const { return collectable_->last_error(); }

 private:
  StoreServer() = default;

  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<FlakyMetrics> metrics_;
  std::shared_ptr<RefreshingCollectable> collectable_;
  std::unique_ptr<MetricsEndpoint> endpoint_;
};

}  // namespace flaky::metrics

#endif  // FLAKY_METRICS_EXPORTER_H_
