#include "bench/machine.h"

#include <sys/statfs.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace flaky::bench {

namespace {

constexpr char kUnknown[] = "unknown";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return "";
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string OrUnknown(const std::string& value) {
  return value.empty() ? kUnknown : value;
}

// The value of the first "KEY<ws>: value" line of a /proc file.
std::string ProcField(const std::string& text, absl::string_view key) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::StartsWith(line, key)) continue;
    std::vector<absl::string_view> parts = absl::StrSplit(line, absl::MaxSplits(':', 1));
    if (parts.size() == 2 && absl::StripAsciiWhitespace(parts[0]) == key) {
      return std::string(absl::StripAsciiWhitespace(parts[1]));
    }
  }
  return "";
}

}  // namespace

std::string LoadAverage(const std::string& root) {
  std::vector<std::string> fields = absl::StrSplit(
      ReadFile(absl::StrCat(root, "/proc/loadavg")), ' ', absl::SkipEmpty());
  if (fields.size() < 3) return kUnknown;
  return absl::StrCat(fields[0], " ", fields[1], " ", fields[2]);
}

MachineInfo ReadMachineInfo(const std::string& root) {
  MachineInfo info;
  const std::string cpuinfo = ReadFile(absl::StrCat(root, "/proc/cpuinfo"));
  for (absl::string_view line : absl::StrSplit(cpuinfo, '\n')) {
    if (absl::StartsWith(line, "processor")) ++info.cpus;
  }
  info.cpu_model = ProcField(cpuinfo, "model name");
  std::string mem = ProcField(ReadFile(absl::StrCat(root, "/proc/meminfo")), "MemTotal");
  int64_t kib = 0;
  if (absl::SimpleAtoi(absl::StripSuffix(mem, " kB"), &kib)) {
    info.memory_bytes = kib * 1024;
  }
  info.kernel = std::string(absl::StripAsciiWhitespace(
      ReadFile(absl::StrCat(root, "/proc/sys/kernel/osrelease"))));
  struct statfs fs;
  const std::string cgroup = absl::StrCat(root, "/sys/fs/cgroup");
  if (statfs(cgroup.c_str(), &fs) == 0) {
    switch (static_cast<unsigned long>(fs.f_type)) {
      case 0x63677270: info.cgroup_fs = "cgroup2fs"; break;
      case 0x01021994: info.cgroup_fs = "tmpfs"; break;
      default: info.cgroup_fs = absl::StrFormat("0x%x", fs.f_type);
    }
  }
  struct stat st;
  info.cgroup_v1_cpu = stat(absl::StrCat(cgroup, "/cpu").c_str(), &st) == 0 &&
                       S_ISDIR(st.st_mode);
  info.load_at_start = LoadAverage(root);
  return info;
}

std::string RenderMachineTable(const MachineInfo& info) {
  std::string out = "| machine | value |\n|---|---|\n";
  absl::StrAppend(&out, "| CPU | ", info.cpus, " x ", OrUnknown(info.cpu_model),
                  " |\n");
  absl::StrAppend(
      &out, "| memory | ",
      info.memory_bytes > 0
          ? absl::StrFormat("%.0f GiB", info.memory_bytes / 1073741824.0)
          : std::string(kUnknown),
      " |\n");
  absl::StrAppend(&out, "| kernel | ", OrUnknown(info.kernel), " |\n");
  absl::StrAppend(&out, "| cgroups | ", OrUnknown(info.cgroup_fs),
                  " at /sys/fs/cgroup",
                  info.cgroup_v1_cpu ? ", v1 cpu controller mounted" : "",
                  " |\n");
  absl::StrAppend(&out, "| Bazel | ", OrUnknown(info.bazel), " |\n");
  absl::StrAppend(&out, "| commit | ", OrUnknown(info.commit),
                  info.uncommitted_changes ? " (uncommitted changes)" : "",
                  " |\n");
  absl::StrAppend(&out, "| load average at start | ",
                  OrUnknown(info.load_at_start), " |\n");
  absl::StrAppend(&out, "| load average at end | ",
                  info.load_at_end.empty() ? "(still running)" : info.load_at_end,
                  " |\n");
  absl::StrAppend(&out, "| command | `", info.command_line, "` |\n");
  return out;
}

}  // namespace flaky::bench
