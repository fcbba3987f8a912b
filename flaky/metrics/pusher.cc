#include "flaky/metrics/pusher.h"

#include <chrono>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "flaky/metrics/boundary.h"

namespace flaky::metrics {

namespace {

// Pushgateway's encoding of a label value in the URL path: base64url, with
// "=" standing for the empty string.
std::string Base64Label(const std::string& value) {
  if (value.empty()) return "=";
  std::string encoded;
  absl::WebSafeBase64Escape(value, &encoded);
  return encoded;
}

const char* CurlErrorText(int code) {
  switch (code) {
    case 3:
      return "malformed URL";
    case 6:
      return "could not resolve host";
    case 7:
      return "could not connect";
    case 28:
      return "timed out";
    case 35:
    case 60:
      return "TLS handshake failed";
    case 52:
      return "empty reply";
    case 56:
      return "connection reset";
    default:
      return "transfer failed";
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<Pusher>> Pusher::Create(
    const PushOptions& options,
    std::weak_ptr<prometheus::Collectable> collectable) {
  const absl::string_view url = options.url;
  absl::string_view rest;
  std::string scheme;
  if (absl::StartsWith(url, "http://")) {
    scheme = "http://";
  } else if (absl::StartsWith(url, "https://")) {
    scheme = "https://";
  }
  rest = url.substr(scheme.size());
  if (absl::EndsWith(rest, "/")) rest.remove_suffix(1);
  std::string host(rest);
  std::string port = "9091";
  // A ':' after the host (after the ']' of an IPv6 literal) starts the port.
  const size_t host_end = absl::StartsWith(rest, "[") ? rest.find(']') : 0;
  const size_t colon = rest.find(':', host_end == absl::string_view::npos
                                          ? rest.size()
                                          : host_end);
  if (colon != absl::string_view::npos) {
    host = std::string(rest.substr(0, colon));
    port = std::string(rest.substr(colon + 1));
  }
  int port_number = 0;
  if (scheme.empty() || host.empty() ||
      host.find_first_of("/?#@ ") != std::string::npos ||
      !absl::SimpleAtoi(port, &port_number) || port_number < 1 ||
      port_number > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Pushgateway URL \"", url,
        "\" is not http(s)://HOST[:PORT] (e.g. http://127.0.0.1:9091)"));
  }
  if (options.job.empty() ||
      options.job.find_first_not_of(
          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") !=
          std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Pushgateway job \"", options.job,
        "\" must be letters, digits, '_', '-' or '.'"));
  }
  std::unique_ptr<prometheus::Gateway> gateway;
  FLAKY_RETURN_IF_ERROR(CallPrometheus("preparing the Pushgateway client", [&] {
    gateway = std::make_unique<prometheus::Gateway>(
        scheme + host, port, options.job,
        prometheus::Labels{
            {"instance@base64", Base64Label(options.instance)},
            {"commit@base64", Base64Label(options.commit)}});
    gateway->RegisterCollectable(collectable);
  }));
  return std::unique_ptr<Pusher>(
      new Pusher(std::string(url), std::move(gateway), std::move(collectable)));
}

absl::Status Pusher::Check(int code, const char* action) const {
  if (code >= 200 && code < 300) return absl::OkStatus();
  if (code <= 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot ", action, " the Pushgateway at ", url_, " (curl error ",
        -code, ": ", CurlErrorText(-code),
        "): is it running and is --pushgateway right?"));
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "the Pushgateway at ", url_, " refused to ", action, " with HTTP ", code,
      " (its log says why)"));
}

absl::Status Pusher::Push() {
  if (collectable_.expired()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "nothing to push to ", url_,
        ": the metrics registry was destroyed before the push"));
  }
  int code = 0;
  FLAKY_RETURN_IF_ERROR(
      CallPrometheus("pushing metrics", [&] { code = gateway_->Push(); }));
  return Check(code, "push to");
}

absl::Status Pusher::Delete() {
  int code = 0;
  FLAKY_RETURN_IF_ERROR(CallPrometheus(
      "deleting a Pushgateway group", [&] { code = gateway_->DeleteForInstance(); }));
  return Check(code, "delete a group on");
}

PeriodicPusher::PeriodicPusher(Pusher& pusher, absl::Duration interval)
    : pusher_(pusher), interval_(interval) {
  thread_ = std::thread([this] { Loop(); });
}

PeriodicPusher::~PeriodicPusher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PeriodicPusher::Loop() {
  const auto interval = absl::ToChronoNanoseconds(interval_);
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    const auto deadline = std::chrono::steady_clock::now() + interval;
    if (changed_.wait_until(lock, deadline, [this] { return stopping_; })) {
      return;
    }
    lock.unlock();
    absl::Status status = pusher_.Push();
    lock.lock();
    last_status_ = std::move(status);
    ++pushes_;
    changed_.notify_all();
  }
}

absl::Status PeriodicPusher::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopped_) {
      return absl::FailedPreconditionError("PeriodicPusher::Stop called twice");
    }
    stopped_ = true;
    stopping_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
  return pusher_.Push();
}

int64_t PeriodicPusher::pushes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return pushes_;
}

absl::Status PeriodicPusher::last_status() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_status_;
}

bool PeriodicPusher::WaitForPushes(int64_t count, absl::Duration timeout) const {
  std::unique_lock<std::mutex> lock(mutex_);
  return changed_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                           [&] { return pushes_ >= count; });
}

}  // namespace flaky::metrics
