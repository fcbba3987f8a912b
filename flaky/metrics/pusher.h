// Pushing metrics to a Prometheus Pushgateway: at the end of a hunt
// (`--pushgateway=URL`) and periodically during a long one, grouped by job,
// instance and commit so that many CI workers add up in one gateway.
//
//   PushOptions options;
//   options.url = "http://127.0.0.1:9091";
//   options.instance = "ci-worker-3";
//   options.commit = "8cd9e98";
//   FLAKY_ASSIGN_OR_RETURN(std::unique_ptr<Pusher> pusher,
//                          Pusher::Create(options, registry));
//   PeriodicPusher periodic(*pusher, absl::Seconds(30));   // during the hunt
//   ...
//   FLAKY_RETURN_IF_ERROR(periodic.Stop());                 // final push
//
// Each push replaces the group's metrics (HTTP PUT), so a gateway always
// holds a worker's latest state, not a sum of repeated pushes. Instance and
// commit travel base64url-encoded in the URL (the Pushgateway's "@base64"
// label suffix) so that any value, slashes and the empty string included,
// is safe.
#ifndef FLAKY_METRICS_PUSHER_H_
#define FLAKY_METRICS_PUSHER_H_

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "prometheus/collectable.h"
#include "prometheus/gateway.h"

namespace flaky::metrics {

// PushOptions names the Pushgateway and the group pushed to.
struct PushOptions {
  // url is "http://HOST[:PORT]" or "https://...", PORT 9091 when omitted.
  std::string url;
  // job is the group's job label: letters, digits, '_', '-', '.'.
  std::string job = "flaky";
  // instance and commit are grouping labels (any text, "" allowed).
  std::string instance;
  std::string commit;
};

// Pusher pushes one collectable to one Pushgateway group. Thread-safe.
class Pusher {
 public:
  // Create checks `options` and prepares the gateway; it does not connect.
  // InvalidArgument for a malformed url or job. The collectable is held
  // weakly: the caller keeps it alive.
  static absl::StatusOr<std::unique_ptr<Pusher>> Create(
      const PushOptions& options,
      std::weak_ptr<prometheus::Collectable> collectable);

  Pusher(const Pusher&) = delete;
  Pusher& operator=(const Pusher&) = delete;

  // Push replaces the group's metrics with the collectable's current ones.
  // Unavailable when the gateway cannot be reached; FailedPrecondition when
  // it answers with an HTTP error (e.g. 400 for inconsistent metrics) or
  // the collectable was destroyed (prometheus-cpp would silently push
  // nothing and report success).
  absl::Status Push();

  // Delete removes this group (job, instance, commit) from the gateway;
  // errors as for Push.
  absl::Status Delete();

  // url returns the gateway URL this pusher was created with.
  const std::string& url() const { return url_; }

 private:
  Pusher(std::string url, std::unique_ptr<prometheus::Gateway> gateway,
         std::weak_ptr<prometheus::Collectable> collectable)
      : url_(std::move(url)),
        gateway_(std::move(gateway)),
        collectable_(std::move(collectable)) {}

  absl::Status Check(int code, const char* action) const;

  std::string url_;
  std::unique_ptr<prometheus::Gateway> gateway_;
  std::weak_ptr<prometheus::Collectable> collectable_;
};

// PeriodicPusher pushes every `interval` on a background thread until
// Stop(), which pushes one last time. A failed periodic push does not stop
// it (a gateway hiccup must not end a long hunt); the failure is kept in
// last_status() and the next push retries.
class PeriodicPusher {
 public:
  // PeriodicPusher starts pushing with `pusher`, which must outlive it; the
  // first push happens after one interval. `interval` must be positive.
  PeriodicPusher(Pusher& pusher, absl::Duration interval);
  // ~PeriodicPusher stops without the final push unless Stop() ran.
  ~PeriodicPusher();

  PeriodicPusher(const PeriodicPusher&) = delete;
  PeriodicPusher& operator=(const PeriodicPusher&) = delete;

  // Stop ends the periodic pushes and returns the status of a final push.
  // Calling it again returns FailedPrecondition.
  absl::Status Stop();

  // pushes returns how many periodic pushes were attempted so far.
  int64_t pushes() const;

  // last_status returns the status of the latest periodic push (OK before
  // the first).
  absl::Status last_status() const;

  // WaitForPushes blocks until at least `count` periodic pushes were
  // attempted or `timeout` passed; true when they were.
  bool WaitForPushes(int64_t count, absl::Duration timeout) const;

 private:
  void Loop();

  Pusher& pusher_;
  const absl::Duration interval_;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  bool stopping_ = false;
  bool stopped_ = false;
  int64_t pushes_ = 0;
  absl::Status last_status_;
  std::thread thread_;
};

}  // namespace flaky::metrics

#endif  // FLAKY_METRICS_PUSHER_H_
