#include "flaky/results/bep.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/status_macros.h"
#include "nlohmann/json.hpp"

namespace flaky::results {
namespace {

using nlohmann::json;

// Bazel writes 64-bit integers as JSON strings ("36") and 32-bit ones as
// numbers; accept both for every integer field.
std::optional<int64_t> IntField(const json& object, const char* key) {
  if (!object.is_object()) return std::nullopt;
  auto it = object.find(key);
  if (it == object.end()) return std::nullopt;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_number_unsigned()) {
    uint64_t value = it->get<uint64_t>();
    if (value > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<int64_t>(value);
  }
  if (it->is_string()) {
    int64_t value = 0;
    if (absl::SimpleAtoi(it->get_ref<const std::string&>(), &value)) {
      return value;
    }
  }
  return std::nullopt;
}

std::string StringField(const json& object, const char* key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

const json* ObjectField(const json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  if (it == object.end() || !it->is_object()) return nullptr;
  return &*it;
}

// A small int (run, shard, attempt, counts) that must fit an int.
absl::StatusOr<int> SmallIntField(const json& object, const char* key,
                                  int fallback, absl::string_view where) {
  if (!object.is_object() || !object.contains(key)) return fallback;
  std::optional<int64_t> value = IntField(object, key);
  if (!value.has_value() || *value < 0 || *value > INT32_MAX) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": \"", key, "\" is not a small non-negative integer"));
  }
  return static_cast<int>(*value);
}

absl::Status ParseTestResult(const json& event, const json& id, int line,
                             absl::string_view where, BepEvents& events) {
  BepTestResult result;
  result.line = line;
  result.label = StringField(id, "label");
  if (result.label.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": testResult event without a label"));
  }
  FLAKY_ASSIGN_OR_RETURN(result.run, SmallIntField(id, "run", 1, where));
  FLAKY_ASSIGN_OR_RETURN(result.shard, SmallIntField(id, "shard", 1, where));
  FLAKY_ASSIGN_OR_RETURN(result.attempt,
                         SmallIntField(id, "attempt", 1, where));
  // The payload is absent when Bazel aborted before the test ran; the id
  // alone still says the run existed.
  const json* payload = ObjectField(event, "testResult");
  if (payload != nullptr) {
    result.status = StringField(*payload, "status");
    if (std::optional<int64_t> ms =
            IntField(*payload, "testAttemptDurationMillis")) {
      result.duration = absl::Milliseconds(*ms);
    }
    if (std::optional<int64_t> ms =
            IntField(*payload, "testAttemptStartMillisEpoch")) {
      result.started_at = absl::FromUnixMillis(*ms);
    }
    if (const json* info = ObjectField(*payload, "executionInfo")) {
      result.strategy = StringField(*info, "strategy");
    }
    auto outputs = payload->find("testActionOutput");
    if (outputs != payload->end() && outputs->is_array()) {
      for (const json& output : *outputs) {
        const std::string name = StringField(output, "name");
        if (name != "test.log" && name != "test.xml") continue;
        const std::string uri = StringField(output, "uri");
        absl::StatusOr<std::string> path = FileUriToPath(uri);
        // A remote (bytestream://) output has no local path: leave it "".
        if (!path.ok()) {
          result.non_local_outputs.push_back(absl::StrCat(name, " ", uri));
          continue;
        }
        (name == "test.log" ? result.test_log : result.test_xml) =
            *std::move(path);
      }
    }
  }
  events.test_results.push_back(std::move(result));
  return absl::OkStatus();
}

absl::Status ParseTestSummary(const json& event, const json& id,
                              absl::string_view where, BepEvents& events) {
  BepTestSummary summary;
  summary.label = StringField(id, "label");
  if (summary.label.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": testSummary event without a label"));
  }
  if (const json* payload = ObjectField(event, "testSummary")) {
    summary.overall_status = StringField(*payload, "overallStatus");
    FLAKY_ASSIGN_OR_RETURN(summary.total_run_count,
                           SmallIntField(*payload, "totalRunCount", 0, where));
    FLAKY_ASSIGN_OR_RETURN(summary.run_count,
                           SmallIntField(*payload, "runCount", 0, where));
    FLAKY_ASSIGN_OR_RETURN(summary.shard_count,
                           SmallIntField(*payload, "shardCount", 1, where));
  }
  events.test_summaries.push_back(std::move(summary));
  return absl::OkStatus();
}

// ParseEvent adds what one parsed line says to `events`.
absl::Status ParseEvent(const json& event, int line, absl::string_view source,
                        BepEvents& events) {
  const std::string where = absl::StrCat(source, " line ", line);
  if (!event.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": a build event must be a JSON object"));
  }
  if (auto last = event.find("lastMessage");
      last != event.end() && last->is_boolean() && last->get<bool>()) {
    events.last_message = true;
  }
  const json* id = ObjectField(event, "id");
  if (id == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": build event without an \"id\" object"));
  }
  if (const json* test_result = ObjectField(*id, "testResult")) {
    return ParseTestResult(event, *test_result, line, where, events);
  }
  if (const json* test_summary = ObjectField(*id, "testSummary")) {
    return ParseTestSummary(event, *test_summary, where, events);
  }
  if (id->contains("buildFinished")) {
    events.build_finished = true;
    if (const json* finished = ObjectField(event, "finished")) {
      if (const json* exit_code = ObjectField(*finished, "exitCode")) {
        events.exit_code_name = StringField(*exit_code, "name");
        // proto3 JSON omits a zero code (SUCCESS).
        events.exit_code =
            static_cast<int>(IntField(*exit_code, "code").value_or(0));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<json> ParseLine(absl::string_view text, int line,
                               absl::string_view source) {
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, " line ", line, " is not valid JSON (", e.what(),
        "); is it a --build_event_json_file?"));
  }
}

// ParseLines parses the complete lines in `data` (each ending in '\n') and,
// when `final`, a trailing partial line. Returns the bytes consumed.
absl::StatusOr<size_t> ParseLines(absl::string_view data, bool final,
                                  absl::string_view source, int& line,
                                  BepEvents& events) {
  size_t pos = 0;
  while (pos < data.size()) {
    size_t newline = data.find('\n', pos);
    const bool complete = newline != absl::string_view::npos;
    if (!complete && !final) break;
    const size_t end = complete ? newline : data.size();
    absl::string_view text = data.substr(pos, end - pos);
    const int number = line + 1;
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    if (text.find_first_not_of(" \t") != absl::string_view::npos) {
      absl::StatusOr<json> event = ParseLine(text, number, source);
      if (!event.ok()) {
        // Without its newline the last line is what a killed Bazel left.
        if (!complete) {
          events.truncated = true;
          ++line;
          return data.size();
        }
        return event.status();
      }
      FLAKY_RETURN_IF_ERROR(ParseEvent(*event, number, source, events));
    }
    ++line;
    pos = complete ? newline + 1 : data.size();
  }
  return pos;
}

}  // namespace

Outcome OutcomeFromBepStatus(absl::string_view status) {
  if (status == "PASSED") return Outcome::kPass;
  if (status == "FAILED") return Outcome::kFail;
  if (status == "TIMEOUT") return Outcome::kTimeout;
  if (status == "INCOMPLETE") return Outcome::kCrashed;
  return Outcome::kError;
}

absl::StatusOr<std::string> FileUriToPath(absl::string_view uri) {
  constexpr absl::string_view kScheme = "file://";
  if (uri.substr(0, kScheme.size()) != kScheme) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a file:// URI: \"", uri, "\""));
  }
  absl::string_view rest = uri.substr(kScheme.size());
  // "file://localhost/x" and "file:///x" both name /x.
  if (rest.substr(0, 9) == "localhost") rest.remove_prefix(9);
  if (rest.empty() || rest[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("file:// URI without an absolute path: \"", uri, "\""));
  }
  std::string path;
  path.reserve(rest.size());
  for (size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] != '%') {
      path += rest[i];
      continue;
    }
    int value = 0;
    if (i + 2 >= rest.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad %-escape at the end of URI \"", uri, "\""));
    }
    for (int k = 1; k <= 2; ++k) {
      const char c = rest[i + k];
      int digit;
      if (c >= '0' && c <= '9') {
        digit = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        digit = c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        digit = c - 'A' + 10;
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("bad %-escape in URI \"", uri, "\""));
      }
      value = value * 16 + digit;
    }
    if (value == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("URI \"", uri, "\" encodes a NUL byte"));
    }
    path += static_cast<char>(value);
    i += 2;
  }
  return path;
}

absl::StatusOr<BepEvents> ParseBep(absl::string_view contents,
                                   absl::string_view source) {
  BepEvents events;
  int line = 0;
  FLAKY_RETURN_IF_ERROR(
      ParseLines(contents, /*final=*/true, source, line, events).status());
  return events;
}

namespace {

absl::StatusOr<std::string> ReadFrom(const std::string& path, uint64_t offset,
                                     bool missing_ok, bool& missing) {
  missing = false;
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    const int error = errno;
    if (error == ENOENT) {
      missing = true;
      if (missing_ok) return std::string();
      return absl::NotFoundError(
          absl::StrCat("BEP file ", path, " does not exist"));
    }
    return absl::UnavailableError(absl::StrCat("cannot open BEP file ", path,
                                               ": ", std::strerror(error)));
  }
  std::string data;
  struct stat info;
  if (fstat(fileno(file), &info) == 0 &&
      static_cast<uint64_t>(info.st_size) < offset) {
    std::fclose(file);
    return absl::FailedPreconditionError(absl::StrCat(
        "BEP file ", path, " shrank from ", offset, " to ", info.st_size,
        " bytes while being read: did another bazel invocation rewrite it? "
        "Give each invocation its own --build_event_json_file"));
  }
  if (fseeko(file, static_cast<off_t>(offset), SEEK_SET) != 0) {
    const int error = errno;
    std::fclose(file);
    return absl::UnavailableError(absl::StrCat("cannot seek in BEP file ",
                                               path, ": ", std::strerror(error)));
  }
  char buffer[1 << 16];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file)) > 0) {
    data.append(buffer, n);
  }
  const bool failed = std::ferror(file) != 0;
  const int error = errno;
  std::fclose(file);
  if (failed) {
    return absl::UnavailableError(absl::StrCat("cannot read BEP file ", path,
                                               ": ", std::strerror(error)));
  }
  return data;
}

}  // namespace

absl::StatusOr<BepEvents> ReadBepFile(const std::string& path) {
  bool missing = false;
  FLAKY_ASSIGN_OR_RETURN(std::string data,
                         ReadFrom(path, 0, /*missing_ok=*/false, missing));
  return ParseBep(data, path);
}

BepReader::BepReader(std::string path) : path_(std::move(path)) {}

absl::StatusOr<BepEvents> BepReader::Poll() { return Read(/*final=*/false); }

absl::StatusOr<BepEvents> BepReader::Finish() { return Read(/*final=*/true); }

absl::StatusOr<BepEvents> BepReader::Read(bool final) {
  bool missing = false;
  FLAKY_ASSIGN_OR_RETURN(std::string data,
                         ReadFrom(path_, offset_, /*missing_ok=*/!final,
                                  missing));
  BepEvents events;
  // Parse on a copy of the line counter so a failed read can be retried
  // from the same place.
  int line = line_;
  FLAKY_ASSIGN_OR_RETURN(size_t consumed,
                         ParseLines(data, final, path_, line, events));
  offset_ += consumed;
  line_ = line;
  if (events.last_message) last_message_ = true;
  return events;
}

}  // namespace flaky::results
