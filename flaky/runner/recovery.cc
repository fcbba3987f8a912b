#include "flaky/runner/recovery.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "base/proc_file.h"
#include "base/status_macros.h"
#include "flaky/results/bep.h"
#include "flaky/results/hunt_state.h"
#include "flaky/runner/hunt_cgroup.h"
#include "flaky/starve/cgroup.h"
#include "nlohmann/json.hpp"

namespace flaky::runner {
namespace {

// Rounds returns the round numbers of the records in `work_dir`, in order.
std::vector<int> Rounds(const std::string& work_dir) {
  std::vector<int> rounds;
  DIR* dir = opendir(work_dir.c_str());
  if (dir == nullptr) return rounds;
  while (struct dirent* entry = readdir(dir)) {
    absl::string_view name = entry->d_name;
    int round = 0;
    if (absl::ConsumePrefix(&name, "round") && absl::ConsumeSuffix(&name, ".json") &&
        !name.empty() && std::all_of(name.begin(), name.end(), absl::ascii_isdigit) &&
        absl::SimpleAtoi(name, &round)) {
      rounds.push_back(round);
    }
  }
  closedir(dir);
  std::sort(rounds.begin(), rounds.end());
  return rounds;
}

bool Newer(const struct timespec& a, const struct timespec& b) {
  return a.tv_sec != b.tv_sec ? a.tv_sec > b.tv_sec : a.tv_nsec > b.tv_nsec;
}

// OutputsIntact is true when every output `run` names still exists and is
// not newer than the build-event file that named it: Bazel writes a run's
// event after its outputs, and a later invocation of the same target
// rewrites bazel-testlogs in place.
bool OutputsIntact(const results::BepTestResult& run, const struct stat& bep) {
  for (const std::string* path : {&run.test_xml, &run.test_log}) {
    if (path->empty()) continue;
    struct stat info;
    if (stat(path->c_str(), &info) != 0 || Newer(info.st_mtim, bep.st_mtim)) return false;
  }
  return true;
}

std::string WorkDir(const results::Store& store, const std::string& hunt_id) {
  return absl::StrCat(store.path(), ".hunts/", hunt_id);
}

// Count is "1 run" or "3 runs".
std::string Count(int64_t n, absl::string_view noun) {
  return absl::StrCat(n, " ", noun, n == 1 ? "" : "s");
}

bool DefaultOwnerAlive(int64_t pid, uint64_t start_ticks) {
  absl::StatusOr<ProcessOwner> owner = OwnerOf(pid);
  return owner.ok() && owner->start_ticks == start_ticks;
}

}  // namespace

std::string RoundStem(absl::string_view work_dir, int round) {
  return absl::StrCat(work_dir, "/round", round);
}

std::string RoundRecordPath(absl::string_view work_dir, int round) {
  return RoundStem(work_dir, round) + ".json";
}

absl::Status WriteRoundRecord(const std::string& path, const RoundRecord& record) {
  const nlohmann::json json = {
      {"round", record.round},
      {"hunt_id", record.context.hunt_id},
      {"profile", record.context.profile},
      {"commit", record.context.commit},
      {"host", record.context.host},
      {"in_process_repeat", record.context.in_process_repeat},
      {"targets", record.targets},
      {"runs", record.runs},
      {"run_offset", record.run_offset},
      {"max_log_bytes", record.max_log_bytes},
      {"bep_path", record.bep_path},
  };
  // Written whole and renamed, so a flaky killed while writing it leaves
  // the previous state, never half a record.
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << json.dump() << "\n";
    out.flush();
    if (!out) {
      return absl::UnavailableError(absl::StrCat("cannot write ", temporary, ": ",
                                                 std::strerror(errno)));
    }
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot rename ", temporary, " to ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<RoundRecord> ReadRoundRecord(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("no round record ", path));
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const nlohmann::json json = nlohmann::json::parse(text, nullptr, false);
  RoundRecord record;
  try {
    if (!json.is_object()) throw std::invalid_argument("not a JSON object");
    record.round = json.at("round").get<int>();
    record.context.hunt_id = json.at("hunt_id").get<std::string>();
    record.context.profile = json.at("profile").get<std::string>();
    record.context.commit = json.at("commit").get<std::string>();
    record.context.host = json.at("host").get<std::string>();
    record.context.in_process_repeat = json.at("in_process_repeat").get<bool>();
    record.targets = json.at("targets").get<std::vector<std::string>>();
    record.runs = json.at("runs").get<int>();
    record.run_offset = json.at("run_offset").get<int64_t>();
    record.max_log_bytes = json.at("max_log_bytes").get<int64_t>();
    record.bep_path = json.at("bep_path").get<std::string>();
  } catch (const std::exception& e) {
    // nlohmann reports missing keys and wrong types by exception; this is
    // the one place they are turned into a Status.
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is not a round record: ", e.what()));
  }
  return record;
}

absl::StatusOr<Recovery> RecoverHuntRuns(results::Store& store, const std::string& work_dir) {
  Recovery recovery;
  for (int round : Rounds(work_dir)) {
    absl::StatusOr<RoundRecord> record = ReadRoundRecord(RoundRecordPath(work_dir, round));
    if (!record.ok()) {
      recovery.problems.push_back(std::string(record.status().message()));
      continue;
    }
    // The path as it is now: the store (and its .hunts) may have moved.
    const std::string bep_path = RoundStem(work_dir, round) + ".bep.json";
    absl::StatusOr<results::BepEvents> events = results::ReadBepFile(bep_path);
    if (absl::IsNotFound(events.status())) continue;  // Bazel never began
    struct stat bep;
    if (!events.ok() || stat(bep_path.c_str(), &bep) != 0) {
      recovery.problems.push_back(absl::StrCat(
          "round ", round, ": cannot read its build events: ",
          events.ok() ? std::strerror(errno) : events.status().message()));
      continue;
    }
    ++recovery.rounds;
    for (const results::BepTestResult& run : events->test_results) {
      const results::RunKey key{.hunt_id = record->context.hunt_id,
                                .target = run.label,
                                .profile = record->context.profile,
                                .run = run.run,
                                .shard = TrialShard(run),
                                .attempt = run.attempt,
                                .started_at = run.started_at};
      // Stored runs are not read again: most of a dead hunt's runs are.
      FLAKY_ASSIGN_OR_RETURN(bool stored, store.RunStored(key));
      if (stored) continue;
      if (!OutputsIntact(run, bep)) {
        ++recovery.lost_runs;
        continue;
      }
      RunReading reading = ReadRun(run, record->context, record->max_log_bytes);
      if (reading.kind == RunReading::Kind::kLeftRemote) ++recovery.lost_runs;
      if (reading.kind != RunReading::Kind::kTrials) continue;
      FLAKY_ASSIGN_OR_RETURN(int64_t inserted, store.InsertNewTrials(reading.trials));
      if (inserted > 0) {
        ++recovery.runs;
        recovery.trials += inserted;
      }
    }
  }
  return recovery;
}

SettleOptions LocalSettleOptions(const std::string& host, Clock& clock) {
  SettleOptions options;
  options.host = host;
  options.clock = &clock;
  absl::StatusOr<starve::CpuHierarchy> hierarchy = starve::DetectCpuHierarchy();
  if (hierarchy.ok() && !hierarchy->read_only) options.cgroup_mount = hierarchy->mount;
  return options;
}

absl::StatusOr<std::vector<results::HuntRecord>> FindAbandonedHunts(
    results::Store& store, const SettleOptions& options) {
  const std::function<bool(int64_t, uint64_t)> alive =
      options.owner_alive ? options.owner_alive : DefaultOwnerAlive;
  FLAKY_ASSIGN_OR_RETURN(std::vector<results::HuntRecord> hunts, store.ListHunts());
  std::vector<results::HuntRecord> abandoned;
  for (results::HuntRecord& hunt : hunts) {
    absl::StatusOr<results::HuntState> state = results::ParseHuntStatus(hunt.status);
    if (!state.ok() || state->status != results::HuntStatus::kRunning) continue;
    if (hunt.host != options.host || hunt.owner_pid <= 0) continue;
    if (alive(hunt.owner_pid, hunt.owner_start_ticks)) continue;
    abandoned.push_back(std::move(hunt));
  }
  return abandoned;
}

absl::StatusOr<std::vector<SettledHunt>> SettleAbandonedHunts(
    results::Store& store, const SettleOptions& options) {
  if (options.clock == nullptr) {
    return absl::InvalidArgumentError("SettleAbandonedHunts needs a clock");
  }
  Clock& clock = *options.clock;
  std::function<std::optional<int64_t>(const std::string&)> writing = options.bazel_writing;
  if (!writing) {
    writing = [](const std::string& bep_path) {
      return ProcessWithArgument(absl::StrCat("--build_event_json_file=", bep_path));
    };
  }
  FLAKY_ASSIGN_OR_RETURN(std::vector<results::HuntRecord> hunts,
                         FindAbandonedHunts(store, options));
  std::vector<SettledHunt> settled;
  for (const results::HuntRecord& hunt : hunts) {
    SettledHunt result;
    result.hunt_id = hunt.id;
    result.owner_pid = hunt.owner_pid;
    const std::string work_dir = WorkDir(store, hunt.id);
    // Bazel got SIGINT when its flaky died and may still be cancelling,
    // appending the runs it finishes meanwhile: read its last round only
    // once it is done.
    const std::vector<int> rounds = Rounds(work_dir);
    if (!rounds.empty()) {
      absl::StatusOr<RoundRecord> last =
          ReadRoundRecord(RoundRecordPath(work_dir, rounds.back()));
      if (last.ok()) {
        const absl::Time deadline = clock.Now() + options.bazel_wait;
        std::optional<int64_t> pid;
        while ((pid = writing(last->bep_path)).has_value() && clock.Now() < deadline) {
          clock.SleepFor(absl::Milliseconds(100));
        }
        if (pid.has_value()) {
          result.bazel_pid = *pid;
          settled.push_back(std::move(result));
          continue;
        }
      }
    }
    FLAKY_ASSIGN_OR_RETURN(result.recovery, RecoverHuntRuns(store, work_dir));
    if (!options.cgroup_mount.empty()) {
      const std::string group = absl::StrCat(
          options.cgroup_mount, "/",
          HuntCgroupParent(hunt.id, {.pid = hunt.owner_pid,
                                     .start_ticks = hunt.owner_start_ticks}));
      if (absl::Status removed = RemoveCgroupTree(group, absl::Seconds(10), clock);
          !removed.ok()) {
        result.recovery.problems.push_back(std::string(removed.message()));
      }
    }
    result.unstored_failure = ReadEndNote(work_dir);
    FLAKY_RETURN_IF_ERROR(store.FinishHunt(
        hunt.id,
        result.unstored_failure.has_value()
            ? results::FormatHuntStatus(results::HuntStatus::kFailed, *result.unstored_failure)
            : results::FormatHuntStatus(results::HuntStatus::kAbandoned,
                                        results::AbandonedReason(hunt.owner_pid)),
        clock.Now()));
    result.settled = true;
    settled.push_back(std::move(result));
  }
  return settled;
}

namespace {

std::string EndNotePath(const std::string& work_dir) {
  return absl::StrCat(work_dir, "/end_note");
}

}  // namespace

absl::Status ReserveEndNote(const std::string& work_dir) {
  const std::string path = EndNotePath(work_dir);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << std::string(kEndNoteBytes, '\n');
  out.flush();
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

absl::Status WriteEndNote(const std::string& work_dir, absl::string_view reason) {
  const std::string path = EndNotePath(work_dir);
  // In place, over the reserved bytes: on a full disk a new block could
  // not be had.
  const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat("cannot open ", path, ": ", strerror(errno)));
  }
  const absl::string_view text = reason.substr(0, kEndNoteBytes);
  const ssize_t written = pwrite(fd, text.data(), text.size(), 0);
  const int write_error = errno;
  // What is left of the reservation is newlines, which ReadEndNote strips.
  close(fd);
  if (written != static_cast<ssize_t>(text.size())) {
    return absl::UnavailableError(
        absl::StrCat("cannot write ", path, ": ", strerror(write_error)));
  }
  return absl::OkStatus();
}

std::optional<std::string> ReadEndNote(const std::string& work_dir) {
  std::ifstream in(EndNotePath(work_dir), std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  const std::string reason(absl::StripAsciiWhitespace(text.str()));
  if (reason.empty()) return std::nullopt;
  return reason;
}

std::string DescribeSettled(const SettledHunt& hunt) {
  if (!hunt.settled) {
    return absl::StrCat("flaky: hunt ", hunt.hunt_id, ": its process ", hunt.owner_pid,
                        " died, but its Bazel (pid ", hunt.bazel_pid,
                        ") is still writing build events; a later flaky will recover "
                        "its runs");
  }
  const Recovery& recovery = hunt.recovery;
  std::string line = absl::StrCat(
      "flaky: hunt ", hunt.hunt_id,
      hunt.unstored_failure.has_value()
          ? absl::StrCat(" failed and could not store why (", *hunt.unstored_failure, "): ")
          : absl::StrCat(" was abandoned (its process ", hunt.owner_pid, " died): "),
      recovery.runs > 0
          ? absl::StrCat("recovered ", Count(recovery.runs, "run"), " (",
                         Count(recovery.trials, "trial"), ") from Bazel's build events")
          : "every run Bazel finished was stored already");
  if (recovery.lost_runs > 0) {
    absl::StrAppend(&line, "; ", Count(recovery.lost_runs, "finished run"),
                    recovery.lost_runs == 1 ? " is" : " are",
                    " lost: test.xml or test.log removed or overwritten by a later Bazel");
  }
  for (const std::string& problem : recovery.problems) {
    absl::StrAppend(&line, "\nflaky: hunt ", hunt.hunt_id, ": ", problem);
  }
  return line;
}

std::optional<int64_t> ProcessWithArgument(absl::string_view argument) {
  const int64_t self = getpid();
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return std::nullopt;
  std::optional<int64_t> found;
  while (struct dirent* entry = readdir(proc)) {
    int64_t pid = 0;
    if (!absl::SimpleAtoi(entry->d_name, &pid) || pid == self) continue;
    const std::string cmdline =
        ReadProcFile(absl::StrCat("/proc/", pid, "/cmdline")).value_or("");
    // A zombie's cmdline is empty: it is not writing anything.
    for (absl::string_view arg : absl::StrSplit(cmdline, '\0')) {
      if (arg == argument) {
        found = pid;
        break;
      }
    }
    if (found) break;
  }
  closedir(proc);
  return found;
}

}  // namespace flaky::runner
