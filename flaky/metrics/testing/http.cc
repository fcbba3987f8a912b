#include "flaky/metrics/testing/http.h"

#include <curl/curl.h>

#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"

namespace flaky::metrics::testing {

namespace {

size_t Append(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

}  // namespace

absl::StatusOr<HttpResponse> HttpGet(absl::string_view url,
                                     absl::Duration timeout) {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(),
                                                           curl_easy_cleanup);
  if (curl == nullptr) return absl::InternalError("curl_easy_init failed");
  const std::string url_text(url);
  HttpResponse response;
  curl_easy_setopt(curl.get(), CURLOPT_URL, url_text.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(timeout)));
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_NOPROXY, "*");
  const CURLcode result = curl_easy_perform(curl.get());
  if (result != CURLE_OK) {
    return absl::UnavailableError(absl::StrCat(
        "GET ", url, " failed: ", curl_easy_strerror(result)));
  }
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &response.code);
  return response;
}

std::string UrlEncode(absl::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppend(&out, "%", absl::Hex(c, absl::kZeroPad2));
    }
  }
  return out;
}

absl::Status PollUntil(absl::string_view what, absl::Duration deadline,
                       const std::function<bool(std::string* note)>& attempt,
                       absl::Duration interval) {
  const absl::Time end = absl::Now() + deadline;
  std::string note;
  while (true) {
    note.clear();
    if (attempt(&note)) return absl::OkStatus();
    if (absl::Now() >= end) {
      return absl::DeadlineExceededError(absl::StrCat(
          "gave up after ", absl::FormatDuration(deadline), " waiting for ",
          what, note.empty() ? "" : ": ", note));
    }
    // Polling a server that offers no notification: the interval paces
    // the checks, the deadline decides.
    std::this_thread::sleep_for(absl::ToChronoNanoseconds(interval));
  }
}

}  // namespace flaky::metrics::testing
