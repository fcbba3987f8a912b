// Metrics as text: the Prometheus exposition format of a collectable, and
// node_exporter's textfile collector format written atomically
// (`--textfile=PATH`), for machines where a node_exporter already runs.
//
//   FLAKY_RETURN_IF_ERROR(WriteTextfile(
//       "/var/lib/prometheus/node-exporter/flaky.prom", *registry));
//
// The file is written to a temporary file in the same directory, flushed to
// disk, made world-readable (node_exporter runs as its own user) and renamed
// over PATH, so the collector never reads a half-written file. The
// temporary name does not end in ".prom", so the collector ignores it.
#ifndef FLAKY_METRICS_TEXTFILE_H_
#define FLAKY_METRICS_TEXTFILE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "prometheus/collectable.h"

namespace flaky::metrics {

// RenderText returns `collectable`'s metrics in the Prometheus text
// exposition format (version 0.0.4), as /metrics serves them. Internal on a
// prometheus-cpp failure.
absl::StatusOr<std::string> RenderText(const prometheus::Collectable& collectable);

// WriteTextfile atomically replaces `path` with RenderText(collectable).
// InvalidArgument when `path` does not end in ".prom" (the collector only
// reads those); Unavailable, naming the path and the OS error, when the
// directory is missing or not writable or the disk is full. On failure
// `path` keeps its previous content and no temporary file is left behind.
absl::Status WriteTextfile(absl::string_view path,
                           const prometheus::Collectable& collectable);

}  // namespace flaky::metrics

#endif  // FLAKY_METRICS_TEXTFILE_H_
