// Each failure of issue 19 done to the real `flaky` binary, asserting what
// is stored, left behind and printed. Bazel is the scripted stand-in
// (tests/e2e/testdata/scripted_bazel.sh) running the real starve wrapper
// for every run, so cgroups, signals, the store, the metrics server and
// the file systems are real; chaos_ops_bazel_test does the kills with
// real, nested Bazel. Unsandboxed (cgroups, mounts): cases whose
// privilege is missing skip with the reason.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/status_matchers.h"
#include "base/utf8.h"
#include "flaky/metrics/testing/http.h"
#include "flaky/results/store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sqlite3.h"
#include "tests/chaos_ops/harness.h"

namespace flaky::chaos_ops {
namespace {

using ::flaky::testing::IsOk;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// IntegrityCheck runs SQLite's own check on the store, as another
// program would.
std::string IntegrityCheck(const std::string& path) {
  sqlite3* db = nullptr;
  std::string result;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_exec(
        db, "PRAGMA integrity_check",
        [](void* out, int, char** values, char**) {
          *static_cast<std::string*>(out) += values[0] == nullptr ? "NULL" : values[0];
          return 0;
        },
        &result, nullptr);
  }
  sqlite3_close(db);
  return result;
}

// Unique makes a hunt id this process's own: cgroup parents are named
// after hunts, and another run of this test may be hunting at the same
// time on the same machine.
std::string Unique(absl::string_view id) { return absl::StrCat(id, "-", getpid()); }

class ChaosOpsTest : public ::testing::Test {
 protected:
  ChaosOpsTest()
      : dir_(absl::StrCat(Env("TEST_TMPDIR"), "/",
                          ::testing::UnitTest::GetInstance()->current_test_info()->name())),
        ws_(dir_ + "/ws"),
        store_(dir_ + "/flaky.db"),
        flaky_(Runfile("flaky/flaky")),
        bazel_(Runfile("tests/e2e/testdata/scripted_bazel.sh")) {
    mkdir(dir_.c_str(), 0755);
    mkdir(ws_.c_str(), 0755);
    std::ofstream(ws_ + "/WORKSPACE") << "workspace(name = \"t\")\n";
  }

  ~ChaosOpsTest() override {
    for (auto it = mounts_.rbegin(); it != mounts_.rend(); ++it) umount2(it->c_str(), MNT_DETACH);
    for (const std::string& point : mount_points_) rmdir(point.c_str());
  }

  // MountPoint makes an empty directory to mount on, outside TEST_TMPDIR:
  // a mount that a crashed run left inside it would keep Bazel from
  // cleaning it for the next run.
  std::string MountPoint() {
    char name[] = "/tmp/flaky-chaos-ops-XXXXXX";
    EXPECT_NE(mkdtemp(name), nullptr) << "mkdtemp: " << std::strerror(errno);
    mount_points_.emplace_back(name);
    return name;
  }

  // Flaky runs `flaky ARGS` in the workspace with `env` and waits for it.
  Ended Flaky(const std::vector<std::string>& args,
              const std::map<std::string, std::string>& env = {},
              absl::Duration timeout = absl::Minutes(2)) {
    absl::StatusOr<Ended> ended = RunProcess(Spawned(args, env), timeout);
    EXPECT_THAT(ended, IsOk());
    return ended.ok() ? *ended : Ended{};
  }

  Spawn Spawned(const std::vector<std::string>& args,
                const std::map<std::string, std::string>& env = {}) {
    ++spawned_;
    Spawn spawn{.argv = {flaky_},
                .env = env,
                .cwd = ws_,
                .out_path = absl::StrCat(dir_, "/out", spawned_),
                .err_path = absl::StrCat(dir_, "/err", spawned_)};
    spawn.argv.insert(spawn.argv.end(), args.begin(), args.end());
    return spawn;
  }

  // HuntArgs are a hunt's arguments with the stand-in Bazel and `store`.
  std::vector<std::string> HuntArgs(std::vector<std::string> args,
                                    const std::string& store = "") const {
    args.push_back("--bazel=" + bazel_);
    args.push_back("--store=" + (store.empty() ? store_ : store));
    return args;
  }

  // WithWrapper adds the real starve wrapper to the stand-in's runs.
  std::map<std::string, std::string> WithWrapper(std::map<std::string, std::string> env) const {
    env["FAKE_BAZEL_RUN_UNDER"] = Runfile("flaky/starve/starve");
    return env;
  }

  // Mount runs mount(8) with `args`; false (after saying why) when this
  // machine does not let the test mount.
  bool Mount(const std::vector<std::string>& args, const std::string& target) {
    Spawn spawn{.argv = {"/bin/mount"},
                .env = {},
                .cwd = dir_,
                .out_path = dir_ + "/mount.out",
                .err_path = dir_ + "/mount.err"};
    spawn.argv.insert(spawn.argv.end(), args.begin(), args.end());
    spawn.argv.push_back(target);
    absl::StatusOr<Ended> mounted = RunProcess(spawn, absl::Seconds(30));
    if (!mounted.ok() || mounted->exit_code != 0) {
      std::cerr << "cannot mount here (" << absl::StrJoin(spawn.argv, " ") << "): "
                << (mounted.ok() ? mounted->err : mounted.status().ToString()) << "\n";
      return false;
    }
    mounts_.push_back(target);
    return true;
  }

  std::string dir_;
  std::string ws_;
  std::string store_;
  std::string flaky_;
  std::string bazel_;
  int spawned_ = 0;
  std::vector<std::string> mounts_;
  std::vector<std::string> mount_points_;
};

// SIGKILL at seeded points among a hunt's first 12 runs (Bazel starting,
// mid-round, between rounds): nothing of it stays alive, no cgroup of it
// stays, the next flaky marks it abandoned and stores every run Bazel
// finished. Every other hunt is one round of 100 runs at 0.1 s each, so a
// Bazel that outlived its flaky would still be running 5 s later.
TEST_F(ChaosOpsTest, SigkillAtSeededPointsLeavesNothingBehindAndLosesNoRun) {
  const std::string mount = WritableCpuMount();
  if (mount.empty()) std::cerr << "cgroups are not writable here: hunting under none\n";
  const std::vector<int> points = KillPoints(/*seed=*/20261202, /*count=*/4, /*total_runs=*/12);
  for (size_t i = 0; i < points.size(); ++i) {
    const std::string id = Unique(absl::StrCat("kill-", i));
    SCOPED_TRACE(absl::StrCat(id, ": SIGKILL after ", points[i], " runs"));
    std::map<std::string, std::string> env = WithWrapper({{"FAKE_BAZEL_PACE", "0.1"}});
    if (i % 2 == 1) env["FAKE_BAZEL_FAIL"] = "all";  // kept logs too
    KillScenario scenario;
    scenario.flaky = flaky_;
    scenario.workspace = ws_;
    scenario.store = store_;
    scenario.hunt_id = id;
    scenario.hunt_args = {"//t:a_test", i % 2 == 0 ? "--round_runs=4" : "--round_runs=0",
                          i % 2 == 0 ? "--runs=12" : "--runs=100",
                          mount.empty() ? "--profiles=none" : "--profiles=cgroup:20",
                          "--bazel=" + bazel_};
    scenario.env = env;
    scenario.kill_after_runs = points[i];
    scenario.markers = {store_ + ".hunts/" + id + "/", "hunt-" + id + "@"};
    scenario.cgroup_mount = mount;
    absl::StatusOr<KillResult> result = KillAndSettle(scenario);
    ASSERT_THAT(result, IsOk());
    EXPECT_THAT(result->orphans, IsEmpty()) << "alive 5 s after the kill";
    EXPECT_THAT(result->leaked_cgroups, IsEmpty());
    EXPECT_EQ(result->hunts_running, 0);
    EXPECT_EQ(result->status, absl::StrCat("abandoned: its process ", result->flaky_pid, " died"));
    EXPECT_GE(result->runs_finished, points[i]);
    EXPECT_EQ(result->runs_stored, result->runs_finished) << result->next;
    EXPECT_THAT(result->next.err, HasSubstr(absl::StrCat("flaky: hunt ", id,
                                                         " was abandoned (its process ",
                                                         result->flaky_pid, " died)")))
        << result->next;
    // Killed before any run: the store may hold no trial to report yet.
    if (result->next.exit_code != 0) {
      EXPECT_THAT(result->next.err, HasSubstr("no trials to report")) << result->next;
    }
  }
  absl::StatusOr<std::map<std::string, std::string>> statuses = HuntStatuses(store_);
  ASSERT_THAT(statuses, IsOk());
  EXPECT_EQ(statuses->size(), points.size());
  EXPECT_EQ(IntegrityCheck(store_), "ok");
}

// A Bazel slow to cancel ignores the first Ctrl-C; the second one kills it
// at once (not after --stop_grace) and the completed runs are stored.
TEST_F(ChaosOpsTest, SecondSigintKillsABazelSlowToCancelAndKeepsTheTrials) {
  const std::string mark = dir_ + "/bazel_mark";
  Spawn spawn = Spawned(HuntArgs({"hunt", "//t:a_test", "--runs=3", "--hunt_id=twice",
                                  "--starve_wrapper=", "--stop_grace=600s"}),
                        {{"FAKE_BAZEL_HANG", mark}, {"FAKE_BAZEL_IGNORE_INT", "1"}});
  absl::StatusOr<pid_t> flaky = StartProcess(spawn);
  ASSERT_THAT(flaky, IsOk());
  ASSERT_THAT(WaitUntil("Bazel's first round", absl::Minutes(1),
                        [&] { return access((mark + ".ready").c_str(), F_OK) == 0; }),
              IsOk())
      << ReadFile(spawn.err_path);
  ASSERT_EQ(kill(*flaky, SIGINT), 0);
  ASSERT_THAT(WaitUntil("Bazel to see the first interrupt", absl::Minutes(1),
                        [&] { return absl::StrContains(ReadFile(mark), "interrupted"); }),
              IsOk());
  ASSERT_EQ(kill(*flaky, SIGINT), 0);
  // Far less than the 600 s of grace: only the hurry can end it.
  absl::StatusOr<Ended> ended = WaitProcess(*flaky, spawn, absl::Minutes(2));
  ASSERT_THAT(ended, IsOk());
  EXPECT_EQ(ended->exit_code, 130) << *ended;
  EXPECT_THAT(ended->err, HasSubstr("interrupted: 3 trials of 3 completed runs are in " + store_));
  EXPECT_THAT(ProcessesMentioning({store_ + ".hunts/twice/"}), IsEmpty())
      << "the stand-in Bazel outlived flaky";
  absl::StatusOr<std::map<std::string, std::string>> statuses = HuntStatuses(store_);
  ASSERT_THAT(statuses, IsOk());
  EXPECT_EQ((*statuses)["twice"], "interrupted");
  absl::StatusOr<std::set<RunId>> stored = StoredRuns(store_, "twice");
  ASSERT_THAT(stored, IsOk());
  EXPECT_EQ(stored->size(), 3u);
}

// Two cgroup hunts on one store: B waits between its rounds (its parent
// group empty, the moment the old sweep removed it) while A runs from
// start to end, sweeping twice; then B goes on. Both complete.
TEST_F(ChaosOpsTest, TwoConcurrentCgroupHuntsOnOneStoreBothComplete) {
  const std::string mount = WritableCpuMount();
  if (mount.empty()) GTEST_SKIP() << "cgroups are not writable here (needs root, no sandbox)";
  const std::string gate = dir_ + "/gate";
  const std::string a_id = Unique("a");
  const std::string b_id = Unique("b");
  Spawn b = Spawned(HuntArgs({"hunt", "//t:b_test", "--profiles=cgroup:20", "--runs=6",
                              "--round_runs=3", "--hunt_id=" + b_id}),
                    WithWrapper({{"FAKE_BAZEL_GATE", gate}}));
  absl::StatusOr<pid_t> b_pid = StartProcess(b);
  ASSERT_THAT(b_pid, IsOk());
  ASSERT_THAT(WaitUntil("hunt b's second round", absl::Minutes(1),
                        [&] {
                          return access((store_ + ".hunts/" + b_id + "/round2.json").c_str(), F_OK) == 0;
                        }),
              IsOk())
      << ReadFile(b.err_path);
  ASSERT_THAT(HuntCgroups(mount, b_id + "@"), Not(IsEmpty())) << "hunt b made no parent group";

  Ended a = Flaky(HuntArgs({"hunt", "//t:a_test", "--profiles=cgroup:20", "--runs=6",
                            "--round_runs=3", "--hunt_id=" + a_id}),
                  WithWrapper({}));
  EXPECT_EQ(a.exit_code, 0) << a;
  EXPECT_THAT(HuntCgroups(mount, b_id + "@"), Not(IsEmpty())) << "hunt a removed hunt b's group";
  std::ofstream(gate) << "go\n";
  absl::StatusOr<Ended> b_ended = WaitProcess(*b_pid, b, absl::Minutes(2));
  ASSERT_THAT(b_ended, IsOk());
  EXPECT_EQ(b_ended->exit_code, 0) << *b_ended;

  absl::StatusOr<std::map<std::string, std::string>> statuses = HuntStatuses(store_);
  ASSERT_THAT(statuses, IsOk());
  EXPECT_EQ((*statuses)[a_id], "done");
  EXPECT_EQ((*statuses)[b_id], "done");
  absl::StatusOr<std::unique_ptr<results::Store>> store =
      results::Store::Open(store_, {.read_only = true});
  ASSERT_THAT(store, IsOk());
  absl::StatusOr<std::vector<results::Trial>> trials = (*store)->ListTrials({});
  ASSERT_THAT(trials, IsOk());
  EXPECT_EQ(trials->size(), 12u);
  for (const results::Trial& trial : *trials) {
    EXPECT_THAT(trial.applied, HasSubstr("\"quota_us\":20000")) << trial.hunt_id;
  }
  EXPECT_THAT(HuntCgroups(mount, a_id + "@"), IsEmpty());
  EXPECT_THAT(HuntCgroups(mount, b_id + "@"), IsEmpty());
}

// Idle connections and garbage must not stall /metrics.
TEST_F(ChaosOpsTest, MetricsAnswerThroughIdleConnectionsAndGarbage) {
  ASSERT_EQ(Flaky(HuntArgs({"hunt", "//t:a_test", "--runs=3", "--starve_wrapper="}))
                .exit_code,
            0);
  Spawn serve = Spawned({"serve", "--store=" + store_, "--metrics_address=127.0.0.1:0"});
  absl::StatusOr<pid_t> server = StartProcess(serve);
  ASSERT_THAT(server, IsOk());
  std::string url;
  ASSERT_THAT(WaitUntil("serve to print its URL", absl::Minutes(1),
                        [&] {
                          const std::string out = ReadFile(serve.out_path);
                          const size_t at = out.find("http://");
                          if (at == std::string::npos || !absl::StrContains(out, "Ctrl-C")) {
                            return false;
                          }
                          url = out.substr(at, out.find(' ', at) - at);
                          return true;
                        }),
              IsOk());
  // host:port from http://127.0.0.1:PORT/metrics.
  const std::string host_port = url.substr(7, url.find('/', 7) - 7);
  int port = 0;
  ASSERT_TRUE(absl::SimpleAtoi(host_port.substr(host_port.find(':') + 1), &port)) << url;
  auto connect_to = [&]() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    return fd;
  };
  std::vector<int> sockets;
  for (int i = 0; i < 10; ++i) sockets.push_back(connect_to());  // idle
  for (const std::string& garbage :
       {std::string("\x00\xff\xfe\r\n\r\n", 7), std::string("GET /metrics HTTP/1.1\r\nHost: x\r\n"),
        std::string(65536, 'A'), std::string("BREW /coffee HTCPCP/1.0\r\n\r\n")}) {
    const int fd = connect_to();
    (void)!write(fd, garbage.data(), garbage.size());
    sockets.push_back(fd);
  }
  // The stall this guards against lasted 30 s; the client gives up at 10.
  for (int scrape = 0; scrape < 3; ++scrape) {
    absl::StatusOr<metrics::testing::HttpResponse> response =
        metrics::testing::HttpGet(url, absl::Seconds(10));
    ASSERT_THAT(response, IsOk());
    EXPECT_EQ(response->code, 200);
    EXPECT_THAT(response->body, HasSubstr("flaky_flake_rate_ratio{"));
  }
  for (int fd : sockets) close(fd);
  ASSERT_EQ(kill(*server, SIGINT), 0);
  absl::StatusOr<Ended> ended = WaitProcess(*server, serve, absl::Minutes(1));
  ASSERT_THAT(ended, IsOk());
  EXPECT_EQ(ended->exit_code, 0) << *ended;

  // Beyond loopback it says so.
  Spawn open = Spawned({"serve", "--store=" + store_, "--metrics_address=0.0.0.0:0"});
  absl::StatusOr<pid_t> open_server = StartProcess(open);
  ASSERT_THAT(open_server, IsOk());
  ASSERT_THAT(WaitUntil("serve on 0.0.0.0 to warn", absl::Minutes(1),
                        [&] { return absl::StrContains(ReadFile(open.err_path), "warning"); }),
              IsOk())
      << ReadFile(open.err_path);
  kill(*open_server, SIGINT);
  ASSERT_THAT(WaitProcess(*open_server, open, absl::Minutes(1)), IsOk());
}

// A Latin-1 test-case name in a UTF-8 test.xml: the metrics stay valid
// (Prometheus would drop the whole scrape for one bad label).
TEST_F(ChaosOpsTest, ALatinOneTestCaseNameKeepsTheMetricsValid) {
  const std::string textfile = dir_ + "/flaky.prom";
  Ended hunt = Flaky(HuntArgs({"hunt", "//t:a_test", "--runs=2", "--starve_wrapper=",
                               "--textfile=" + textfile, "--report_dir=" + dir_ + "/report"}),
                     {{"FAKE_BAZEL_CASE", "caf\xe9"}, {"FAKE_BAZEL_FAIL", "all"}});
  ASSERT_EQ(hunt.exit_code, 0) << hunt;
  const std::string metrics = ReadFile(textfile);
  EXPECT_THAT(metrics, HasSubstr("test_case=\"Suite.caf\xEF\xBF\xBD\""));
  EXPECT_EQ(ValidUtf8(metrics), metrics) << "the textfile is not valid UTF-8";
  const std::string json = ReadFile(dir_ + "/report/report.json");
  EXPECT_THAT(json, HasSubstr("Suite.caf"));
  EXPECT_EQ(ValidUtf8(json), json) << "report.json is not valid UTF-8";
  if (access("/usr/bin/promtool", X_OK) != 0) {
    std::cerr << "no promtool here: the textfile is checked for UTF-8 only\n";
    return;
  }
  absl::StatusOr<Ended> checked =
      RunProcess({.argv = {"/bin/sh", "-c", "/usr/bin/promtool check metrics < \"$0\"", textfile},
           .env = {},
           .cwd = dir_,
           .out_path = dir_ + "/promtool.out",
           .err_path = dir_ + "/promtool.err"},
          absl::Minutes(1));
  ASSERT_THAT(checked, IsOk());
  // promtool exits 3 for lint warnings (help texts), 1 for errors.
  EXPECT_NE(checked->exit_code, 1) << *checked;
  EXPECT_THAT(checked->out + checked->err, Not(HasSubstr("invalid")));
}

// A failing run with a 64 MiB test.log: flaky reads and keeps its head
// and tail up to --max_log_bytes, never the whole log.
TEST_F(ChaosOpsTest, AHugeTestLogIsReadAndKeptOnlyUpToTheCap) {
  const std::string big = dir_ + "/big.log";
  {
    std::ofstream out(big, std::ios::binary);
    out << "HEAD OF THE LOG\n";
    const std::string line(1023, 'x');
    for (int i = 0; i < 64 * 1024; ++i) out << line << "\n";
    out << "TAIL OF THE LOG\n";
  }
  constexpr int64_t kCap = 1 << 20;
  Ended hunt = Flaky(HuntArgs({"hunt", "//t:a_test", "--runs=1", "--starve_wrapper=",
                               absl::StrCat("--max_log_bytes=", kCap)}),
                     {{"FAKE_BAZEL_LOG_FILE", big}, {"FAKE_BAZEL_FAIL", "all"}});
  ASSERT_EQ(hunt.exit_code, 0) << hunt;
  // flaky itself, not the 64 MiB: a few MiB of its own plus the cap.
  EXPECT_LT(hunt.max_rss_kb, 48 * 1024) << "peak RSS " << hunt.max_rss_kb << " KiB";
  absl::StatusOr<std::unique_ptr<results::Store>> store =
      results::Store::Open(store_, {.read_only = true});
  ASSERT_THAT(store, IsOk());
  absl::StatusOr<std::vector<results::CaseSummary>> cases = (*store)->Summarize({});
  ASSERT_THAT(cases, IsOk());
  ASSERT_EQ(cases->size(), 1u);
  ASSERT_EQ((*cases)[0].signatures.size(), 1u);
  const std::string kept_path = (*cases)[0].signatures[0].first_log_path;
  EXPECT_THAT(kept_path, HasSubstr(store_ + ".logs/"));
  const std::string kept = ReadFile(kept_path);
  EXPECT_LE(static_cast<int64_t>(kept.size()), kCap + 1024);
  EXPECT_THAT(kept, AllOf(HasSubstr("HEAD OF THE LOG"), HasSubstr("TAIL OF THE LOG"),
                          HasSubstr(" bytes cut here")));
}

// A store on a read-only file system: report reads it (and says it cannot
// settle the hunt whose process died), a hunt says it cannot write it.
TEST_F(ChaosOpsTest, AReadOnlyStoreIsReportedAndNeverWritten) {
  const std::string rw = dir_ + "/rw";
  const std::string ro = MountPoint();
  ASSERT_EQ(mkdir(rw.c_str(), 0755), 0);
  const std::string store = rw + "/flaky.db";
  ASSERT_EQ(Flaky(HuntArgs({"hunt", "//t:a_test", "--runs=2", "--starve_wrapper=",
                            "--hunt_id=done"},
                           store))
                .exit_code,
            0);
  // A hunt killed after its first run, before it stored it.
  KillScenario scenario;
  scenario.flaky = flaky_;
  scenario.workspace = ws_;
  scenario.store = store;
  scenario.hunt_id = "killed";
  scenario.hunt_args = {"//t:a_test", "--runs=20", "--starve_wrapper=", "--bazel=" + bazel_};
  scenario.env = {{"FAKE_BAZEL_PACE", "0.2"}};
  scenario.kill_after_runs = 1;
  scenario.markers = {store + ".hunts/killed/"};
  scenario.next = {"plan"};  // nothing that settles
  ASSERT_THAT(KillAndSettle(scenario), IsOk());

  if (!Mount({"--bind", rw}, ro) || !Mount({"-o", "remount,ro,bind"}, ro)) {
    GTEST_SKIP() << "no read-only mount here (needs CAP_SYS_ADMIN)";
  }
  const std::string read_only = ro + "/flaky.db";
  Ended report = Flaky({"report", "--store=" + read_only});
  EXPECT_EQ(report.exit_code, 0) << report;
  EXPECT_THAT(report.out, HasSubstr("//t:a_test  Suite.Race  none"));
  EXPECT_THAT(report.err, HasSubstr("flaky report: the process of hunt killed died; the store "
                                    "is read-only"));
  Ended hunt = Flaky(HuntArgs({"hunt", "//t:a_test", "--runs=1", "--starve_wrapper="},
                              read_only));
  EXPECT_EQ(hunt.exit_code, 1) << hunt;
  EXPECT_THAT(hunt.err, HasSubstr("store " + read_only +
                                  " cannot be written (Read-only file system): hunts record "
                                  "into their store"));
  absl::StatusOr<std::map<std::string, std::string>> statuses = HuntStatuses(read_only);
  ASSERT_THAT(statuses, IsOk());
  EXPECT_EQ((*statuses)["killed"], "running");

  // Writable again, the next report settles it.
  umount2(ro.c_str(), MNT_DETACH);
  mounts_.clear();
  Ended settled = Flaky({"report", "--store=" + store});
  EXPECT_EQ(settled.exit_code, 0) << settled;
  EXPECT_THAT(settled.err, HasSubstr("flaky: hunt killed was abandoned"));
  statuses = HuntStatuses(store);
  ASSERT_THAT(statuses, IsOk());
  EXPECT_THAT((*statuses)["killed"], HasSubstr("abandoned: its process"));
}

// A store on a full file system: the hunt fails saying the disk is full
// (not that Bazel died), the store stays consistent, and once there is
// room the next flaky settles the hunt.
TEST_F(ChaosOpsTest, AFullDiskIsReportedAsSuchAndTheStoreSurvives) {
  const std::string full = MountPoint();
  if (!Mount({"-t", "tmpfs", "-o", "size=2m", "tmpfs"}, full)) {
    GTEST_SKIP() << "cannot mount a small tmpfs here (needs CAP_SYS_ADMIN)";
  }
  const std::string store = full + "/flaky.db";
  const std::string log = dir_ + "/half_a_mib.log";
  std::ofstream(log) << std::string(512 * 1024, 'y') << "\n";
  Ended hunt = Flaky(HuntArgs({"hunt", "//t:a_test", "--runs=20", "--starve_wrapper=",
                               "--hunt_id=full"},
                              store),
                     {{"FAKE_BAZEL_LOG_FILE", log}, {"FAKE_BAZEL_FAIL", "all"}});
  EXPECT_EQ(hunt.exit_code, 1) << hunt;
  // Whichever write fails first (Bazel's build events, the store), the
  // message says the disk is full.
  EXPECT_THAT(hunt.err, HasSubstr("disk is full")) << hunt;
  EXPECT_THAT(hunt.err, Not(HasSubstr("Bazel died"))) << hunt;
  EXPECT_EQ(IntegrityCheck(store), "ok");

  // Room again (the stand-in's test logs go), then the next flaky.
  Spawn clean{.argv = {"/bin/sh", "-c", "rm -rf \"$0\"/testlogs.*", store + ".hunts/full"},
              .env = {},
              .cwd = dir_,
              .out_path = dir_ + "/rm.out",
              .err_path = dir_ + "/rm.err"};
  ASSERT_THAT(RunProcess(clean, absl::Minutes(1)), IsOk());
  Ended report = Flaky({"report", "--store=" + store});
  absl::StatusOr<std::map<std::string, std::string>> statuses = HuntStatuses(store);
  ASSERT_THAT(statuses, IsOk());
  // Failed, with the reason, whether the store took it then or the end
  // note kept it for this flaky (recovery.h); not "abandoned".
  EXPECT_THAT((*statuses)["full"], HasSubstr("failed: ")) << report;
  EXPECT_THAT((*statuses)["full"], HasSubstr("disk is full")) << report;
  EXPECT_EQ(IntegrityCheck(store), "ok");
}

}  // namespace
}  // namespace flaky::chaos_ops
