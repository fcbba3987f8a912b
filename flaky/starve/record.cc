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
                  {"burst", chaos->burst},
                  {"min_ms", chaos->min_ms},
                  {"max_ms", chaos->max_ms},
                  {"cap", chaos->cap_percent}};
    if (chaos->counters) {
      const ChaosCounters& c = *chaos->counters;
      j["chaos"]["counters"] = {{"processes", c.processes},
                                {"wakeups", c.wakeups},
                                {"stalls", c.stalls},
                                {"capped", c.capped},
                                {"stalled_ns", c.stalled_ns},
                                {"sites", c.sites},
                                {"sites_stalled", c.sites_stalled}};
    } else {
      j["chaos"]["counters"] = nullptr;
    }
  } else {
    j["chaos"] = nullptr;
  }
  if (sched) {
    j["sched"] = {{"seed", sched->seed},         {"base_seed", sched->base_seed},
                  {"fixed", sched->fixed},       {"min_ms", sched->min_ms},
                  {"max_ms", sched->max_ms},     {"modes", sched->modes}};
    if (sched->counters) {
      const AppliedSchedCounters& c = *sched->counters;
      j["sched"]["counters"] = {{"windows", c.windows},
                                {"threads", c.threads},
                                {"changes", c.changes},
                                {"refused", c.refused},
                                {"stalls", c.stalls},
                                {"held", c.held}};
    } else {
      j["sched"]["counters"] = nullptr;
    }
  } else {
    j["sched"] = nullptr;
  }
  j["env"] = env;
  j["wrapper_pid"] = wrapper_pid;
  if (killed) {
    j["killed"] = *killed;
  } else {
    j["killed"] = nullptr;
  }
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
      AppliedChaos chaos;
      chaos.seed = c.at("seed").get<uint64_t>();
      chaos.base_seed = c.at("base_seed").get<uint64_t>();
      chaos.fixed = c.at("fixed").get<bool>();
      chaos.stall_percent = c.at("p").get<int>();
      chaos.burst = c.value("burst", 0);
      chaos.min_ms = c.at("min_ms").get<int>();
      chaos.max_ms = c.at("max_ms").get<int>();
      chaos.cap_percent = c.at("cap").get<int>();
      if (auto it = c.find("counters"); it != c.end() && !it->is_null()) {
        ChaosCounters counters;
        counters.processes = it->at("processes").get<uint64_t>();
        counters.wakeups = it->at("wakeups").get<uint64_t>();
        counters.stalls = it->at("stalls").get<uint64_t>();
        counters.capped = it->at("capped").get<uint64_t>();
        counters.stalled_ns = it->at("stalled_ns").get<uint64_t>();
        counters.sites = it->at("sites").get<uint64_t>();
        counters.sites_stalled = it->at("sites_stalled").get<uint64_t>();
        chaos.counters = counters;
      }
      record.chaos = chaos;
      record.seed = chaos.seed;
    }
    if (auto s = j.find("sched"); s != j.end() && !s->is_null()) {
      AppliedSched sched;
      sched.seed = s->at("seed").get<uint64_t>();
      sched.base_seed = s->at("base_seed").get<uint64_t>();
      sched.fixed = s->at("fixed").get<bool>();
      sched.min_ms = s->at("min_ms").get<int>();
      sched.max_ms = s->at("max_ms").get<int>();
      sched.modes = s->at("modes").get<std::vector<std::string>>();
      if (auto it = s->find("counters"); it != s->end() && !it->is_null()) {
        AppliedSchedCounters counters;
        counters.windows = it->at("windows").get<uint64_t>();
        counters.threads = it->at("threads").get<uint64_t>();
        counters.changes = it->at("changes").get<uint64_t>();
        counters.refused = it->at("refused").get<uint64_t>();
        // Absent in records written before stalls existed.
        counters.stalls = it->value("stalls", uint64_t{0});
        counters.held = it->value("held", uint64_t{0});
        sched.counters = counters;
      }
      record.sched = sched;
      if (!record.seed) record.seed = sched.seed;
    }
    record.env = j.at("env").get<std::vector<std::string>>();
    record.wrapper_pid = j.at("wrapper_pid").get<int64_t>();
    if (auto k = j.find("killed"); k != j.end() && !k->is_null()) {
      record.killed = k->get<int64_t>();
    }
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
