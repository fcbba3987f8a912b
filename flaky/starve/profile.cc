#include "flaky/starve/profile.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/ascii.h"
#include "absl/strings/string_view.h"
#include "base/status_macros.h"

namespace flaky::starve {
namespace {

// sched_setaffinity's cpu_set_t holds CPU_SETSIZE (1024) CPUs.
constexpr int kMaxCpu = 1023;
constexpr int kMaxHogs = 64;
constexpr int64_t kMinPeriodUs = 1000;
constexpr int64_t kMaxPeriodUs = 1000000;
// The kernel rejects CFS quotas below 1 ms (v1 and v2 alike).
constexpr int64_t kMinQuotaUs = 1000;
constexpr int kMaxStallMs = 2000;
constexpr int kMaxBurst = 1000000;

absl::Status PartError(absl::string_view part, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(part, ": ", what));
}

// ParseInt accepts only plain decimal digits, so "+5", " 5" and "5x" fail.
bool ParseDecimal(absl::string_view text, int64_t min, int64_t max,
                  int64_t* out) {
  if (text.empty() || text.size() > 18) return false;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  int64_t value = 0;
  if (!absl::SimpleAtoi(text, &value)) return false;
  if (value < min || value > max) return false;
  *out = value;
  return true;
}

bool ParseSeed(absl::string_view text, uint64_t* out) {
  if (text.empty() || text.size() > 20) return false;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return absl::SimpleAtoi(text, out);
}

absl::Status ParseTaskset(absl::string_view part, absl::string_view arg,
                          Profile& profile) {
  absl::StatusOr<std::vector<int>> cpus = ParseCpuList(arg);
  if (!cpus.ok()) return PartError(part, cpus.status().message());
  profile.cpus = *std::move(cpus);
  return absl::OkStatus();
}

absl::Status ParseCgroup(absl::string_view part, absl::string_view arg,
                         Profile& profile) {
  std::pair<absl::string_view, absl::string_view> pct_period =
      absl::StrSplit(arg, absl::MaxSplits('/', 1));
  CgroupLimit limit;
  int64_t percent = 0;
  if (!ParseDecimal(pct_period.first, 1, 100, &percent)) {
    return PartError(part, absl::StrCat("\"", pct_period.first,
                                        "\" is not a percentage in 1..100"));
  }
  limit.percent = static_cast<int>(percent);
  if (arg.find('/') != absl::string_view::npos) {
    if (!ParseDecimal(pct_period.second, kMinPeriodUs, kMaxPeriodUs,
                      &limit.period_us)) {
      return PartError(
          part, absl::StrCat("\"", pct_period.second,
                             "\" is not a period in microseconds in ",
                             kMinPeriodUs, "..", kMaxPeriodUs));
    }
  }
  if (limit.QuotaUs() < kMinQuotaUs) {
    return PartError(part, absl::StrCat("quota ", limit.QuotaUs(),
                                        " us is below the kernel minimum of ",
                                        kMinQuotaUs,
                                        " us; raise PCT or the period"));
  }
  profile.cgroup = limit;
  return absl::OkStatus();
}

absl::Status ParseHogs(absl::string_view part, absl::string_view arg,
                       Profile& profile) {
  int64_t hogs = 0;
  if (!ParseDecimal(arg, 1, kMaxHogs, &hogs)) {
    return PartError(part, absl::StrCat("\"", arg, "\" is not a hog count in 1..",
                                        kMaxHogs));
  }
  profile.hogs = static_cast<int>(hogs);
  return absl::OkStatus();
}

absl::Status ParseChaos(absl::string_view part, absl::string_view arg,
                        Profile& profile) {
  std::vector<absl::string_view> fields = absl::StrSplit(arg, ',');
  ChaosSpec spec;
  if (!ParseSeed(fields[0], &spec.seed)) {
    return PartError(part, absl::StrCat("\"", fields[0],
                                        "\" is not a seed (a decimal uint64)"));
  }
  std::set<absl::string_view> seen;
  for (size_t i = 1; i < fields.size(); ++i) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(fields[i], absl::MaxSplits('=', 1));
    if (fields[i] == "fixed") kv.first = "fixed";
    if (!seen.insert(kv.first).second) {
      return PartError(part, absl::StrCat("option \"", kv.first,
                                          "\" given twice"));
    }
    int64_t value = 0;
    if (fields[i] == "fixed") {
      spec.fixed = true;
    } else if (kv.first == "p") {
      if (!ParseDecimal(kv.second, 0, 100, &value)) {
        return PartError(part, absl::StrCat("p=\"", kv.second,
                                            "\" is not a percentage in 0..100"));
      }
      spec.stall_percent = static_cast<int>(value);
    } else if (kv.first == "cap") {
      if (!ParseDecimal(kv.second, 1, 100, &value)) {
        return PartError(part, absl::StrCat("cap=\"", kv.second,
                                            "\" is not a percentage in 1..100"));
      }
      spec.cap_percent = static_cast<int>(value);
    } else if (kv.first == "burst") {
      if (!ParseDecimal(kv.second, 0, kMaxBurst, &value)) {
        return PartError(part, absl::StrCat("burst=\"", kv.second,
                                            "\" is not a count in 0..",
                                            kMaxBurst));
      }
      spec.burst = static_cast<int>(value);
    } else if (kv.first == "ms") {
      std::pair<absl::string_view, absl::string_view> range =
          absl::StrSplit(kv.second, absl::MaxSplits('-', 1));
      int64_t min_ms = 0;
      int64_t max_ms = 0;
      if (!ParseDecimal(range.first, 1, kMaxStallMs, &min_ms) ||
          !ParseDecimal(range.second, 1, kMaxStallMs, &max_ms) ||
          min_ms > max_ms) {
        return PartError(
            part, absl::StrCat("ms=\"", kv.second,
                               "\" is not a range MIN-MAX with 1 <= MIN <= "
                               "MAX <= ",
                               kMaxStallMs));
      }
      spec.min_ms = static_cast<int>(min_ms);
      spec.max_ms = static_cast<int>(max_ms);
    } else {
      return PartError(part,
                       absl::StrCat("unknown chaos option \"", fields[i],
                                    "\"; expected p=PCT, ms=MIN-MAX, cap=PCT, "
                                    "burst=N or fixed"));
    }
  }
  profile.chaos = spec;
  return absl::OkStatus();
}

constexpr std::pair<absl::string_view, SchedSpec::Mode> kSchedModes[] = {
    {"cpu", SchedSpec::kCpu},
    {"idle", SchedSpec::kIdle},
    {"nice", SchedSpec::kNice},
    {"fifo", SchedSpec::kFifo},
    {"stall", SchedSpec::kStall},
    {"new", SchedSpec::kNew},
};

absl::Status ParseSched(absl::string_view part, absl::string_view arg,
                        Profile& profile) {
  std::vector<absl::string_view> fields = absl::StrSplit(arg, ',');
  SchedSpec spec;
  if (!ParseSeed(fields[0], &spec.seed)) {
    return PartError(part, absl::StrCat("\"", fields[0],
                                        "\" is not a seed (a decimal uint64)"));
  }
  std::set<absl::string_view> seen;
  unsigned modes = 0;
  for (size_t i = 1; i < fields.size(); ++i) {
    const absl::string_view field = fields[i];
    const absl::string_view name = field.substr(0, field.find('='));
    if (!seen.insert(name).second) {
      return PartError(part, absl::StrCat("option \"", name, "\" given twice"));
    }
    bool is_mode = false;
    for (const auto& [mode_name, mode] : kSchedModes) {
      if (field == mode_name) {
        modes |= mode;
        is_mode = true;
      }
    }
    if (is_mode) continue;
    if (field == "fixed") {
      spec.fixed = true;
    } else if (name == "ms" && field.size() > 3) {
      std::pair<absl::string_view, absl::string_view> range =
          absl::StrSplit(field.substr(3), absl::MaxSplits('-', 1));
      int64_t min_ms = 0;
      int64_t max_ms = 0;
      if (!ParseDecimal(range.first, 1, kMaxStallMs, &min_ms) ||
          !ParseDecimal(range.second, 1, kMaxStallMs, &max_ms) ||
          min_ms > max_ms) {
        return PartError(
            part, absl::StrCat(field,
                               " is not a range ms=MIN-MAX with 1 <= MIN <= "
                               "MAX <= ",
                               kMaxStallMs));
      }
      spec.min_ms = static_cast<int>(min_ms);
      spec.max_ms = static_cast<int>(max_ms);
    } else {
      return PartError(part, absl::StrCat("unknown sched option \"", field,
                                          "\"; expected ms=MIN-MAX, cpu, "
                                          "idle, nice, fifo, stall, new or "
                                          "fixed"));
    }
  }
  if (modes != 0) spec.modes = modes;
  profile.sched = spec;
  return absl::OkStatus();
}

bool IsEnvName(absl::string_view name) {
  if (name.empty()) return false;
  if (std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

absl::Status ParseEnv(absl::string_view part, absl::string_view arg,
                      Profile& profile) {
  size_t eq = arg.find('=');
  if (eq == absl::string_view::npos) {
    return PartError(part, "expected env:NAME=VALUE");
  }
  absl::string_view name = arg.substr(0, eq);
  if (!IsEnvName(name)) {
    return PartError(part, absl::StrCat("\"", name,
                                        "\" is not a variable name "
                                        "([A-Za-z_][A-Za-z0-9_]*)"));
  }
  for (const auto& [existing, value] : profile.env) {
    if (existing == name) {
      return PartError(part, absl::StrCat("variable ", name, " is set twice"));
    }
  }
  profile.env.emplace_back(std::string(name), std::string(arg.substr(eq + 1)));
  return absl::OkStatus();
}

}  // namespace

std::vector<std::string> SchedModeNames(unsigned modes) {
  std::vector<std::string> names;
  for (const auto& [name, mode] : kSchedModes) {
    if (modes & mode) names.emplace_back(name);
  }
  return names;
}

absl::StatusOr<std::vector<int>> ParseCpuList(absl::string_view text) {
  if (text.empty()) {
    return absl::InvalidArgumentError("empty CPU list; expected e.g. 0 or 0-3,6");
  }
  std::set<int> cpus;
  for (absl::string_view element : absl::StrSplit(text, ',')) {
    std::pair<absl::string_view, absl::string_view> range =
        absl::StrSplit(element, absl::MaxSplits('-', 1));
    int64_t first = 0;
    int64_t last = 0;
    bool ok = ParseDecimal(range.first, 0, kMaxCpu, &first);
    if (element.find('-') == absl::string_view::npos) {
      last = first;
    } else {
      ok = ok && ParseDecimal(range.second, 0, kMaxCpu, &last) && first <= last;
    }
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", element, "\" is not a CPU (0..", kMaxCpu,
                       ") or an ascending range N-M"));
    }
    for (int64_t cpu = first; cpu <= last; ++cpu) cpus.insert(static_cast<int>(cpu));
  }
  return std::vector<int>(cpus.begin(), cpus.end());
}

std::string FormatCpuList(const std::vector<int>& cpus) {
  std::vector<std::string> ranges;
  size_t i = 0;
  while (i < cpus.size()) {
    size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    ranges.push_back(j == i ? absl::StrCat(cpus[i])
                            : absl::StrCat(cpus[i], "-", cpus[j]));
    i = j + 1;
  }
  return absl::StrJoin(ranges, ",");
}

absl::StatusOr<Profile> ParseProfile(absl::string_view text) {
  if (text.empty()) {
    return absl::InvalidArgumentError(
        "empty profile; expected none or parts like taskset:0+hogs:2");
  }
  if (text == "none") return Profile();
  Profile profile;
  std::set<std::string> seen;
  for (absl::string_view part : absl::StrSplit(text, '+')) {
    if (part.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "\"", text, "\": empty part (two '+' in a row, or a leading or "
                      "trailing '+')"));
    }
    std::pair<absl::string_view, absl::string_view> name_arg =
        absl::StrSplit(part, absl::MaxSplits(':', 1));
    absl::string_view name = name_arg.first;
    absl::string_view arg = name_arg.second;
    if (name == "none") {
      return PartError(part, "none cannot be combined with other parts");
    }
    const bool known = name == "taskset" || name == "cgroup" ||
                       name == "hogs" || name == "chaos" || name == "sched" ||
                       name == "env";
    if (!known) {
      return PartError(part,
                       "unknown part; expected none, taskset:CPUS, "
                       "cgroup:PCT[/PERIOD_US], hogs:N, chaos:SEED, "
                       "sched:SEED or env:K=V");
    }
    if (part.find(':') == absl::string_view::npos || arg.empty()) {
      return PartError(part, absl::StrCat("missing argument after \"", name,
                                          ":\""));
    }
    if (name != "env" && !seen.insert(std::string(name)).second) {
      return PartError(part, absl::StrCat(name, " appears twice"));
    }
    if (name == "taskset") {
      FLAKY_RETURN_IF_ERROR(ParseTaskset(part, arg, profile));
    } else if (name == "cgroup") {
      FLAKY_RETURN_IF_ERROR(ParseCgroup(part, arg, profile));
    } else if (name == "hogs") {
      FLAKY_RETURN_IF_ERROR(ParseHogs(part, arg, profile));
    } else if (name == "chaos") {
      FLAKY_RETURN_IF_ERROR(ParseChaos(part, arg, profile));
    } else if (name == "sched") {
      FLAKY_RETURN_IF_ERROR(ParseSched(part, arg, profile));
    } else {
      FLAKY_RETURN_IF_ERROR(ParseEnv(part, arg, profile));
    }
  }
  std::sort(profile.env.begin(), profile.env.end());
  return profile;
}

std::string Profile::ToString() const {
  if (IsNone()) return "none";
  std::vector<std::string> parts;
  if (!cpus.empty()) parts.push_back(absl::StrCat("taskset:", FormatCpuList(cpus)));
  if (cgroup) {
    const CgroupLimit defaults;
    std::string part = absl::StrCat("cgroup:", cgroup->percent);
    if (cgroup->period_us != defaults.period_us) {
      absl::StrAppend(&part, "/", cgroup->period_us);
    }
    parts.push_back(std::move(part));
  }
  if (hogs > 0) parts.push_back(absl::StrCat("hogs:", hogs));
  if (chaos) {
    const ChaosSpec defaults;
    std::string part = absl::StrCat("chaos:", chaos->seed);
    if (chaos->stall_percent != defaults.stall_percent) {
      absl::StrAppend(&part, ",p=", chaos->stall_percent);
    }
    if (chaos->min_ms != defaults.min_ms || chaos->max_ms != defaults.max_ms) {
      absl::StrAppend(&part, ",ms=", chaos->min_ms, "-", chaos->max_ms);
    }
    if (chaos->cap_percent != defaults.cap_percent) {
      absl::StrAppend(&part, ",cap=", chaos->cap_percent);
    }
    if (chaos->burst != defaults.burst) {
      absl::StrAppend(&part, ",burst=", chaos->burst);
    }
    if (chaos->fixed) absl::StrAppend(&part, ",fixed");
    parts.push_back(std::move(part));
  }
  if (sched) {
    const SchedSpec defaults;
    std::string part = absl::StrCat("sched:", sched->seed);
    if (sched->min_ms != defaults.min_ms || sched->max_ms != defaults.max_ms) {
      absl::StrAppend(&part, ",ms=", sched->min_ms, "-", sched->max_ms);
    }
    if (sched->modes != defaults.modes) {
      for (const std::string& mode : SchedModeNames(sched->modes)) {
        absl::StrAppend(&part, ",", mode);
      }
    }
    if (sched->fixed) absl::StrAppend(&part, ",fixed");
    parts.push_back(std::move(part));
  }
  for (const auto& [name, value] : env) {
    parts.push_back(absl::StrCat("env:", name, "=", value));
  }
  return absl::StrJoin(parts, "+");
}

std::vector<std::string> SplitProfileList(absl::string_view text) {
  std::vector<std::string> profiles;
  for (absl::string_view piece : absl::StrSplit(text, ',')) {
    piece = absl::StripAsciiWhitespace(piece);
    if (piece.empty()) continue;
    bool starts_profile = piece == "none" || absl::StartsWith(piece, "none+");
    for (absl::string_view kind :
         {"taskset:", "cgroup:", "hogs:", "chaos:", "sched:", "env:"}) {
      starts_profile = starts_profile || absl::StartsWith(piece, kind);
    }
    if (starts_profile || profiles.empty()) {
      profiles.emplace_back(piece);
    } else {
      absl::StrAppend(&profiles.back(), ",", piece);
    }
  }
  return profiles;
}

}  // namespace flaky::starve
