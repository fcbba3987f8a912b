#include "flaky/metrics/exporter.h"

#include <unistd.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "flaky/metrics/textfile.h"

namespace flaky::metrics {

namespace {

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "unknown";
  return name;
}

}  // namespace

absl::StatusOr<std::unique_ptr<HuntExporter>> HuntExporter::Start(
    const ExportOptions& options) {
  std::unique_ptr<HuntExporter> exporter(new HuntExporter());
  exporter->textfile_path_ = options.textfile_path;
  exporter->registry_ = std::make_shared<prometheus::Registry>();
  FLAKY_ASSIGN_OR_RETURN(exporter->metrics_,
                         FlakyMetrics::Create(*exporter->registry_, options.metrics));
  exporter->collectable_ = exporter->registry_;
  if (options.snapshot) {
    FlakyMetrics* metrics = exporter->metrics_.get();
    FLAKY_ASSIGN_OR_RETURN(
        exporter->collectable_,
        RefreshingCollectable::Create(
            exporter->registry_,
            [metrics, snapshot = options.snapshot]() -> absl::Status {
              FLAKY_ASSIGN_OR_RETURN(Snapshot current, snapshot());
              return metrics->UpdateSummaries(current.summaries, current.assessments);
            }));
  }
  if (options.push_interval < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "push interval ", absl::FormatDuration(options.push_interval),
        " is negative: use 0 to push only at the end"));
  }
  if (!options.pushgateway_url.empty()) {
    PushOptions push;
    push.url = options.pushgateway_url;
    push.job = options.push_job;
    push.instance = options.instance.empty() ? HostName() : options.instance;
    push.commit = options.metrics.commit;
    FLAKY_ASSIGN_OR_RETURN(exporter->pusher_,
                           Pusher::Create(push, exporter->collectable_));
  }
  if (!options.listen_address.empty()) {
    FLAKY_ASSIGN_OR_RETURN(
        exporter->endpoint_,
        MetricsEndpoint::Start(options.listen_address, exporter->collectable_));
  }
  if (exporter->pusher_ != nullptr && options.push_interval > absl::ZeroDuration()) {
    exporter->periodic_ =
        std::make_unique<PeriodicPusher>(*exporter->pusher_, options.push_interval);
  }
  return exporter;
}

HuntExporter::~HuntExporter() {
  // The periodic pusher reads the registry: stop it first.
  periodic_.reset();
  endpoint_.reset();
}

absl::Status HuntExporter::RecordTrial(const results::Trial& trial) {
  return metrics_->RecordTrial(trial);
}

absl::Status HuntExporter::Accept(absl::Span<const results::Trial> run) {
  for (const results::Trial& trial : run) FLAKY_RETURN_IF_ERROR(RecordTrial(trial));
  return absl::OkStatus();
}

absl::Status HuntExporter::Finish(
    const std::vector<results::CaseSummary>& summaries,
    const Assessments& assessments) {
  if (finished_) {
    return absl::FailedPreconditionError("HuntExporter::Finish called twice");
  }
  finished_ = true;
  absl::Status result = metrics_->UpdateSummaries(summaries, assessments);
  auto note = [&result](absl::Status status) {
    if (status.ok()) return;
    if (result.ok()) {
      result = std::move(status);
    } else {
      result = absl::Status(result.code(),
                            absl::StrCat(result.message(), "; also: ", status.message()));
    }
  };
  if (periodic_ != nullptr) {
    note(periodic_->Stop());
  } else if (pusher_ != nullptr) {
    note(pusher_->Push());
  }
  if (!textfile_path_.empty()) note(WriteTextfile(textfile_path_, *collectable_));
  return result;
}

absl::StatusOr<std::unique_ptr<StoreServer>> StoreServer::Start(
    const std::string& address, const MetricsOptions& options,
    SnapshotSource snapshot) {
  if (!snapshot) {
    return absl::InvalidArgumentError("StoreServer needs a snapshot source");
  }
  std::unique_ptr<StoreServer> server(new StoreServer());
  server->registry_ = std::make_shared<prometheus::Registry>();
  FLAKY_ASSIGN_OR_RETURN(server->metrics_,
                         FlakyMetrics::Create(*server->registry_, options));
  FlakyMetrics* metrics = server->metrics_.get();
  FLAKY_ASSIGN_OR_RETURN(
      server->collectable_,
      RefreshingCollectable::Create(
          server->registry_, [metrics, snapshot = std::move(snapshot)]() -> absl::Status {
            FLAKY_ASSIGN_OR_RETURN(Snapshot current, snapshot());
            return metrics->UpdateSummaries(current.summaries, current.assessments);
          }));
  FLAKY_ASSIGN_OR_RETURN(server->endpoint_,
                         MetricsEndpoint::Start(address, server->collectable_));
  return server;
}

StoreServer::~StoreServer() {
  // Stop serving before the metrics the scrapes read go away.
  endpoint_.reset();
}

}  // namespace flaky::metrics
