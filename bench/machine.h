// The machine table at the top of bench.md: what the figures were measured
// on (CPU, memory, kernel, cgroups, Bazel, commit, load average at the start
// and at the end, the command line), so runs on different days compare.
//
//   MachineInfo info = ReadMachineInfo("/");        // /proc, /sys, statfs
//   info.bazel = ...; info.commit = ...;            // from processes.h
//   std::string table = RenderMachineTable(info);   // markdown
//
// Rendering is pure; reading is best effort (a value that cannot be read
// shows as "unknown").
#ifndef FLAKY_BENCH_MACHINE_H_
#define FLAKY_BENCH_MACHINE_H_

#include <cstdint>
#include <string>

namespace flaky::bench {

// MachineInfo is one row each of the table.
struct MachineInfo {
  int cpus = 0;
  std::string cpu_model = "";
  int64_t memory_bytes = 0;
  std::string kernel = "";
  // cgroups: the file system at /sys/fs/cgroup ("cgroup2fs", "tmpfs") and
  // whether a v1 cpu controller is mounted.
  std::string cgroup_fs = "";
  bool cgroup_v1_cpu = false;
  std::string bazel = "";
  std::string commit = "";
  bool uncommitted_changes = false;
  std::string load_at_start = "";
  std::string load_at_end = "";  // "" while the run is going on
  std::string command_line = "";
};

// ReadMachineInfo fills cpus, cpu_model, memory_bytes, kernel, cgroup_fs,
// cgroup_v1_cpu and load_at_start from the files under `root` ("/" for the
// real machine; tests pass a directory with proc/cpuinfo, proc/meminfo,
// proc/loadavg, proc/sys/kernel/osrelease).
MachineInfo ReadMachineInfo(const std::string& root);

// LoadAverage is the first three fields of `root`/proc/loadavg, or "unknown".
std::string LoadAverage(const std::string& root);

// RenderMachineTable is the markdown table of `info`.
std::string RenderMachineTable(const MachineInfo& info);

}  // namespace flaky::bench

#endif  // FLAKY_BENCH_MACHINE_H_
