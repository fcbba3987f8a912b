#include "bench/machine.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::bench {
namespace {

using ::testing::HasSubstr;

void Write(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

TEST(RenderMachineTable, RendersEveryRow) {
  MachineInfo info{.cpus = 2,
                   .cpu_model = "Intel Xeon",
                   .memory_bytes = int64_t{8} << 30,
                   .kernel = "6.1.0-13-amd64",
                   .cgroup_fs = "tmpfs",
                   .cgroup_v1_cpu = true,
                   .bazel = "Debian bazel-bootstrap 4.2.3+ds-9",
                   .commit = "abc1234",
                   .uncommitted_changes = true,
                   .load_at_start = "0.10 0.20 0.30",
                   .load_at_end = "1.00 2.00 3.00",
                   .command_line = "ci/bench --quick"};
  EXPECT_EQ(RenderMachineTable(info),
            "| machine | value |\n"
            "|---|---|\n"
            "| CPU | 2 x Intel Xeon |\n"
            "| memory | 8 GiB |\n"
            "| kernel | 6.1.0-13-amd64 |\n"
            "| cgroups | tmpfs at /sys/fs/cgroup, v1 cpu controller mounted |\n"
            "| Bazel | Debian bazel-bootstrap 4.2.3+ds-9 |\n"
            "| commit | abc1234 (uncommitted changes) |\n"
            "| load average at start | 0.10 0.20 0.30 |\n"
            "| load average at end | 1.00 2.00 3.00 |\n"
            "| command | `ci/bench --quick` |\n");
}

TEST(RenderMachineTable, UnknownsAndARunStillGoing) {
  const std::string table = RenderMachineTable({});
  EXPECT_THAT(table, HasSubstr("| memory | unknown |"));
  EXPECT_THAT(table, HasSubstr("| commit | unknown |"));
  EXPECT_THAT(table, HasSubstr("| load average at end | (still running) |"));
}

TEST(ReadMachineInfo, ReadsProcFilesUnderRoot) {
  const std::filesystem::path root =
      std::filesystem::path(std::getenv("TEST_TMPDIR")) / "root";
  Write(root / "proc/cpuinfo",
        "processor\t: 0\nmodel name\t: Test CPU @ 2GHz\n\n"
        "processor\t: 1\nmodel name\t: Test CPU @ 2GHz\n");
  Write(root / "proc/meminfo", "MemTotal:        4194304 kB\nMemFree: 1 kB\n");
  Write(root / "proc/sys/kernel/osrelease", "6.1.0-test\n");
  Write(root / "proc/loadavg", "0.50 0.40 0.30 1/100 4242\n");
  const MachineInfo info = ReadMachineInfo(root.string());
  EXPECT_EQ(info.cpus, 2);
  EXPECT_EQ(info.cpu_model, "Test CPU @ 2GHz");
  EXPECT_EQ(info.memory_bytes, int64_t{4} << 30);
  EXPECT_EQ(info.kernel, "6.1.0-test");
  EXPECT_EQ(info.load_at_start, "0.50 0.40 0.30");
  EXPECT_FALSE(info.cgroup_v1_cpu);
  EXPECT_EQ(LoadAverage((root / "missing").string()), "unknown");
}

}  // namespace
}  // namespace flaky::bench
