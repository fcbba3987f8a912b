#include "flaky/starve/record.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace flaky::starve {

std::string AppliedRecord::ToJson() const {
  nlohmann::ordered_json j;
  j["profile"] = profile;
  j["cpus"] = cpus;
  j["hogs"] = hogs;
  j["hog_cpus"] = hog_cpus;
  if (cgroup) {
    j["cgroup"] = {{"version", cgroup->version},
                   {"path", cgroup->path},
                   {"quota_us", cgroup->quota_us},
                   {"period_us", cgroup->period_us}};
  } else {
    j["cgroup"] = nullptr;
  }
  if (chaos) {
    j["chaos"] = {{"seed", chaos->seed},
                  {"base_seed", chaos->base_seed},
                  {"fixed", chaos->fixed},
                  {"p", chaos->stall_percent},
                  {"min_ms", chaos->min_ms},
                  {"max_ms", chaos->max_ms},
                  {"cap", chaos->cap_percent}};
  } else {
    j["chaos"] = nullptr;
  }
  j["env"] = env;
  j["wrapper_pid"] = wrapper_pid;
  j["host"] = host;
  nlohmann::ordered_json skipped = nlohmann::ordered_json::array();
  for (const NotApplied& n : not_applied) {
    skipped.push_back({{"part", n.part}, {"reason", n.reason}});
  }
  j["not_applied"] = skipped;
  // Replace invalid UTF-8 (an env value is arbitrary bytes) instead of
  // throwing.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

absl::StatusOr<AppliedRecord> ParseAppliedRecord(absl::string_view json) {
  nlohmann::json j = nlohmann::json::parse(json.begin(), json.end(), nullptr,
                                           /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError("starve record is not a JSON object");
  }
  AppliedRecord record;
  try {
    record.profile = j.at("profile").get<std::string>();
    record.cpus = j.at("cpus").get<std::vector<int>>();
    record.hogs = j.at("hogs").get<int>();
    record.hog_cpus = j.value("hog_cpus", std::vector<int>());
    if (const nlohmann::json& c = j.at("cgroup"); !c.is_null()) {
      record.cgroup = AppliedCgroup{c.at("version").get<int>(),
                                    c.at("path").get<std::string>(),
                                    c.at("quota_us").get<int64_t>(),
                                    c.at("period_us").get<int64_t>()};
    }
    if (const nlohmann::json& c = j.at("chaos"); !c.is_null()) {
      record.chaos = AppliedChaos{c.at("seed").get<uint64_t>(),
                                  c.at("base_seed").get<uint64_t>(),
                                  c.at("fixed").get<bool>(),
                                  c.at("p").get<int>(),
                                  c.at("min_ms").get<int>(),
                                  c.at("max_ms").get<int>(),
                                  c.at("cap").get<int>()};
      record.seed = record.chaos->seed;
    }
    record.env = j.at("env").get<std::vector<std::string>>();
    record.wrapper_pid = j.at("wrapper_pid").get<int64_t>();
    record.host = j.value("host", std::string());
    for (const nlohmann::json& n : j.value("not_applied", nlohmann::json::array())) {
      record.not_applied.push_back(
          {n.at("part").get<std::string>(), n.at("reason").get<std::string>()});
    }
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("starve record is missing a field or has a wrong type: ",
                     e.what()));
  }
  record.json = std::string(json);
  return record;
}

std::optional<AppliedRecord> FindAppliedRecord(absl::string_view test_log) {
  std::optional<AppliedRecord> found;
  for (absl::string_view line : absl::StrSplit(test_log, '\n')) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.substr(0, kRecordTag.size()) != kRecordTag) continue;
    absl::StatusOr<AppliedRecord> record =
        ParseAppliedRecord(line.substr(kRecordTag.size()));
    if (record.ok()) found = *std::move(record);
  }
  return found;
}

}  // namespace flaky::starve
