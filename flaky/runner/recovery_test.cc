// Recovery of hunts whose process died, against the scripted Bazel
// (testing/fake_bazel.h) and the real SQLite store: the hunt runs in a
// forked child that SIGKILLs itself after a chosen number of runs, exactly
// as a `kill -9` would leave it, and the test settles what it left.
#include "flaky/runner/recovery.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/status_matchers.h"
#include "flaky/results/bep.h"
#include "flaky/results/store.h"
#include "flaky/results/trial_sink.h"
#include "flaky/runner/clock.h"
#include "flaky/runner/hunt.h"
#include "flaky/runner/hunt_cgroup.h"
#include "flaky/runner/launcher.h"
#include "flaky/runner/testing/fake_bazel.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flaky::runner {
namespace {

using ::flaky::runner::testing::FakeBazel;
using ::flaky::testing::IsOk;
using ::flaky::testing::StatusIs;
using ::testing::HasSubstr;

// DieAfter SIGKILLs the process once it has seen `runs` runs: after the
// store writer (first in the trial stream) accepted the last one, so what
// is stored depends only on the writer's batching, as in a real death.
class DieAfter : public results::TrialSink {
 public:
  explicit DieAfter(int runs) : runs_(runs) {}
  absl::Status Accept(absl::Span<const results::Trial>) override {
    if (++seen_ == runs_) raise(SIGKILL);
    return absl::OkStatus();
  }
  absl::Status Flush() override { return absl::OkStatus(); }

 private:
  const int runs_;
  int seen_ = 0;
};

class RecoveryTest : public ::testing::Test {
 protected:
  RecoveryTest()
      : clock_(absl::FromUnixSeconds(1795801329)),
        dir_(absl::StrCat(std::getenv("TEST_TMPDIR"), "/",
                          ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    mkdir(dir_.c_str(), 0755);
    mkdir((dir_ + "/ws").c_str(), 0755);
    std::ofstream(dir_ + "/ws/WORKSPACE") << "workspace(name = \"t\")\n";
    options_.targets = {"//t:a_test"};
    options_.profiles = {"none", "hogs:2"};
    options_.runs = 6;
    options_.round_runs = 3;
    options_.bazel.bazel = "/bin/sh";  // must exist; the launcher is fake
    options_.workspace = dir_ + "/ws";
    options_.store_path = dir_ + "/flaky.db";
    options_.wrapper_candidates = {"//flaky/starve:starve"};
    options_.hunt_id = "h1";
    options_.host = "host-1";
    options_.commit = "abc123";
    // Batches are written by count and at round ends only (a fake run
    // takes a second of the manual clock).
    options_.batch_interval = absl::Hours(1);
  }

  // HuntAndDie runs the hunt in a child process that SIGKILLs itself after
  // `runs` runs, and returns the dead child's pid.
  pid_t HuntAndDie(int runs) {
    const pid_t pid = fork();
    if (pid == 0) {
      FakeBazel bazel(clock_, dir_);
      bazel.fails = [](int run) { return run % 2 == 0; };
      std::atomic<bool> stop{false};
      std::ostringstream out;
      DieAfter die(runs);
      (void)RunHunt(options_, {.launcher = &bazel, .clock = &clock_, .out = &out,
                               .stop = &stop, .sinks = {&die}});
      _exit(3);  // the hunt ended before it was meant to die
    }
    int status = 0;
    EXPECT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "the hunt was meant to die of SIGKILL, status " << status;
    return pid;
  }

  std::unique_ptr<results::Store> OpenStore() {
    absl::StatusOr<std::unique_ptr<results::Store>> store =
        results::Store::Open(options_.store_path);
    EXPECT_THAT(store, IsOk());
    return store.ok() ? std::move(*store) : nullptr;
  }

  SettleOptions Settle() {
    SettleOptions options;
    options.host = "host-1";
    options.clock = &clock_;
    options.bazel_writing = [](const std::string&) { return std::nullopt; };
    return options;
  }

  std::vector<results::HuntRecord> Hunts(results::Store& store) {
    absl::StatusOr<std::vector<results::HuntRecord>> hunts = store.ListHunts();
    EXPECT_THAT(hunts, IsOk());
    return hunts.ok() ? *hunts : std::vector<results::HuntRecord>{};
  }

  std::vector<results::Trial> Trials(results::Store& store) {
    absl::StatusOr<std::vector<results::Trial>> trials = store.ListTrials({});
    EXPECT_THAT(trials, IsOk());
    return trials.ok() ? *trials : std::vector<results::Trial>{};
  }

  ManualClock clock_;
  std::string dir_;
  HuntOptions options_;
};

TEST_F(RecoveryTest, StoresTheRunsBazelFinishedAfterTheLastStoredBatch) {
  // Rounds of 3: none, hogs:2, none, hogs:2. Every round's end flushes;
  // within a round the writer waits for 4 trials. Dying at run 8 leaves
  // rounds 1 and 2 stored and runs 7 and 8 (round 3's first two, under
  // none) only in round 3's build events.
  options_.batch_trials = 4;
  const pid_t dead = HuntAndDie(8);
  std::unique_ptr<results::Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_EQ(Trials(*store).size(), 6u);
  ASSERT_EQ(Hunts(*store)[0].status, "running");
  EXPECT_EQ(Hunts(*store)[0].owner_pid, dead);

  absl::StatusOr<std::vector<SettledHunt>> settled = SettleAbandonedHunts(*store, Settle());
  ASSERT_THAT(settled, IsOk());
  ASSERT_EQ(settled->size(), 1u);
  const SettledHunt& hunt = (*settled)[0];
  EXPECT_TRUE(hunt.settled);
  EXPECT_EQ(hunt.recovery.rounds, 3);
  EXPECT_EQ(hunt.recovery.runs, 2);
  EXPECT_EQ(hunt.recovery.trials, 2);
  EXPECT_EQ(hunt.recovery.lost_runs, 0);
  EXPECT_EQ(DescribeSettled(hunt),
            absl::StrCat("flaky: hunt h1 was abandoned (its process ", dead,
                         " died): recovered 2 runs (2 trials) from Bazel's build events"));
  EXPECT_EQ(Hunts(*store)[0].status, absl::StrCat("abandoned: its process ", dead, " died"));

  // The recovered trials are what the live hunt would have stored.
  const std::vector<results::Trial> trials = Trials(*store);
  ASSERT_EQ(trials.size(), 8u);
  int none = 0;
  for (const results::Trial& trial : trials) {
    EXPECT_EQ(trial.hunt_id, "h1");
    EXPECT_EQ(trial.test_case, "Suite.Race");
    EXPECT_EQ(trial.commit, "abc123");
    EXPECT_EQ(trial.host, "host-1");
    if (trial.profile == "none") ++none;
  }
  EXPECT_EQ(none, 5);
  const results::Trial& last = trials.back();
  EXPECT_EQ(last.profile, "none");
  EXPECT_EQ(last.run, 2);
  EXPECT_EQ(last.outcome, results::Outcome::kFail);
  EXPECT_THAT(last.failure_message, HasSubstr("unrecognized interpreter ID 62"));

  // Once settled it is no longer running: nothing is recovered again.
  settled = SettleAbandonedHunts(*store, Settle());
  ASSERT_THAT(settled, IsOk());
  EXPECT_TRUE(settled->empty());
  absl::StatusOr<Recovery> again = RecoverHuntRuns(*store, dir_ + "/flaky.db.hunts/h1");
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->runs, 0);
  EXPECT_EQ(Trials(*store).size(), 8u);
}

TEST_F(RecoveryTest, TheNextHuntSettlesHuntsWhoseProcessDied) {
  options_.batch_trials = 1000;  // nothing stored before the round ends
  const pid_t dead = HuntAndDie(2);
  FakeBazel bazel(clock_, dir_);
  std::atomic<bool> stop{false};
  std::ostringstream out;
  options_.hunt_id = "h2";
  options_.profiles = {"none"};
  options_.runs = 1;
  options_.round_runs = 0;
  absl::StatusOr<HuntResult> result =
      RunHunt(options_, {.launcher = &bazel, .clock = &clock_, .out = &out, .stop = &stop});
  ASSERT_THAT(result, IsOk());
  EXPECT_THAT(out.str(), HasSubstr(absl::StrCat(
                             "flaky: hunt h1 was abandoned (its process ", dead,
                             " died): recovered 2 runs (2 trials) from Bazel's build events")));
  std::unique_ptr<results::Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  const std::vector<results::HuntRecord> hunts = Hunts(*store);
  ASSERT_EQ(hunts.size(), 2u);
  EXPECT_EQ(hunts[0].status, absl::StrCat("abandoned: its process ", dead, " died"));
  EXPECT_EQ(hunts[0].trials, 2);
  EXPECT_EQ(hunts[1].status, "done");
  EXPECT_EQ(hunts[1].trials, 1);
  // The live hunt recorded itself as its owner.
  EXPECT_EQ(hunts[1].owner_pid, getpid());
}

TEST_F(RecoveryTest, AFailureTheHuntCouldNotStoreIsRecordedFromItsEndNote) {
  const pid_t dead = HuntAndDie(2);
  const std::string work_dir = dir_ + "/flaky.db.hunts/h1";
  // The hunt reserved its note at the start: nothing in it yet.
  EXPECT_EQ(ReadEndNote(work_dir), std::nullopt);
  ASSERT_THAT(WriteEndNote(work_dir, "the disk is full: 0 bytes left"), IsOk());
  EXPECT_EQ(ReadEndNote(work_dir), "the disk is full: 0 bytes left");
  std::unique_ptr<results::Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<std::vector<SettledHunt>> settled = SettleAbandonedHunts(*store, Settle());
  ASSERT_THAT(settled, IsOk());
  ASSERT_EQ(settled->size(), 1u);
  EXPECT_EQ((*settled)[0].owner_pid, dead);
  EXPECT_EQ(Hunts(*store)[0].status, "failed: the disk is full: 0 bytes left");
  EXPECT_THAT(DescribeSettled((*settled)[0]),
              HasSubstr("flaky: hunt h1 failed and could not store why (the disk is full: "
                        "0 bytes left): "));
}

TEST(EndNote, KeepsAtMostItsRoomAndWritesInPlace) {
  const std::string work_dir = absl::StrCat(std::getenv("TEST_TMPDIR"), "/end_note_dir");
  mkdir(work_dir.c_str(), 0755);
  EXPECT_EQ(ReadEndNote(work_dir), std::nullopt);  // no note at all
  EXPECT_THAT(WriteEndNote(work_dir, "x"), StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_THAT(ReserveEndNote(work_dir), IsOk());
  ASSERT_THAT(WriteEndNote(work_dir, std::string(kEndNoteBytes + 10, 'r')), IsOk());
  EXPECT_EQ(ReadEndNote(work_dir), std::string(kEndNoteBytes, 'r'));
  struct stat note;
  ASSERT_EQ(stat((work_dir + "/end_note").c_str(), &note), 0);
  EXPECT_EQ(static_cast<size_t>(note.st_size), kEndNoteBytes);  // never grown
}

TEST_F(RecoveryTest, ATruncatedLastLineIsReadAndOverwrittenOutputsAreLost) {
  options_.batch_trials = 1000;
  HuntAndDie(8);
  const std::string work_dir = dir_ + "/flaky.db.hunts/h1";
  // Bazel killed mid-write leaves half a line.
  std::ofstream(RoundStem(work_dir, 3) + ".bep.json", std::ios::app)
      << R"({"id":{"testResult":{"label":"//t:a_test","run":3,)";
  // A later `bazel test` of the target rewrote run 8's (round 3's run 2)
  // test.xml: its events now describe a file from another invocation.
  absl::StatusOr<results::BepEvents> events =
      results::ReadBepFile(RoundStem(work_dir, 3) + ".bep.json");
  ASSERT_THAT(events, IsOk());
  ASSERT_EQ(events->test_results.size(), 2u);
  EXPECT_TRUE(events->truncated);
  const struct timespec later[2] = {{.tv_sec = 4102444800, .tv_nsec = 0},
                                    {.tv_sec = 4102444800, .tv_nsec = 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, events->test_results[1].test_xml.c_str(), later, 0), 0);

  std::unique_ptr<results::Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<std::vector<SettledHunt>> settled = SettleAbandonedHunts(*store, Settle());
  ASSERT_THAT(settled, IsOk());
  ASSERT_EQ(settled->size(), 1u);
  // Rounds 1 and 2 were stored at their ends; run 1 of round 3 is
  // recovered, run 2 is lost.
  EXPECT_EQ((*settled)[0].recovery.runs, 1);
  EXPECT_EQ((*settled)[0].recovery.lost_runs, 1);
  EXPECT_THAT(DescribeSettled((*settled)[0]),
              HasSubstr("recovered 1 run (1 trial) from Bazel's build events; 1 finished "
                        "run is lost: test.xml or test.log removed or overwritten by a "
                        "later Bazel"));
  EXPECT_EQ(Trials(*store).size(), 7u);
}

TEST_F(RecoveryTest, WaitsForABazelStillWritingItsLastRound) {
  options_.batch_trials = 1000;
  HuntAndDie(2);
  std::unique_ptr<results::Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  SettleOptions options = Settle();
  std::string asked;
  int writing = 3;  // it stops after three looks
  options.bazel_writing = [&](const std::string& bep_path) -> std::optional<int64_t> {
    asked = bep_path;
    if (writing == 0) return std::nullopt;
    --writing;
    return 999;
  };
  const absl::Time before = clock_.Now();
  absl::StatusOr<std::vector<SettledHunt>> settled = SettleAbandonedHunts(*store, options);
  ASSERT_THAT(settled, IsOk());
  ASSERT_EQ(settled->size(), 1u);
  EXPECT_TRUE((*settled)[0].settled);
  EXPECT_EQ((*settled)[0].recovery.runs, 2);
  EXPECT_EQ(asked, dir_ + "/flaky.db.hunts/h1/round1.bep.json");
  EXPECT_EQ(clock_.Now() - before, absl::Milliseconds(300));
}

TEST_F(RecoveryTest, ABazelThatDoesNotStopLeavesTheHuntForLater) {
  options_.batch_trials = 1000;
  const pid_t dead = HuntAndDie(2);
  std::unique_ptr<results::Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  SettleOptions options = Settle();
  options.bazel_writing = [](const std::string&) -> std::optional<int64_t> { return 999; };
  options.bazel_wait = absl::Seconds(5);
  absl::StatusOr<std::vector<SettledHunt>> settled = SettleAbandonedHunts(*store, options);
  ASSERT_THAT(settled, IsOk());
  ASSERT_EQ(settled->size(), 1u);
  EXPECT_FALSE((*settled)[0].settled);
  EXPECT_EQ(DescribeSettled((*settled)[0]),
            absl::StrCat("flaky: hunt h1: its process ", dead,
                         " died, but its Bazel (pid 999) is still writing build events; "
                         "a later flaky will recover its runs"));
  EXPECT_EQ(Hunts(*store)[0].status, "running");
  EXPECT_TRUE(Trials(*store).empty());
}

TEST_F(RecoveryTest, RemovesTheCgroupsOfAnAbandonedHunt) {
  options_.batch_trials = 1000;
  const pid_t dead = HuntAndDie(1);
  std::unique_ptr<results::Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  const results::HuntRecord hunt = Hunts(*store)[0];
  // An empty directory stands in for the hierarchy: removal is rmdir,
  // deepest first, after killing what cgroup.procs lists (nothing here).
  const std::string mount = dir_ + "/cpu";
  const std::string group =
      mount + "/" + HuntCgroupParent("h1", {.pid = dead, .start_ticks = hunt.owner_start_ticks});
  ASSERT_EQ(system(absl::StrCat("mkdir -p ", group, "/run-1").c_str()), 0);
  const std::string other = mount + "/flaky/hunt-live@1-1";
  ASSERT_EQ(mkdir(other.c_str(), 0755), 0);
  SettleOptions options = Settle();
  options.cgroup_mount = mount;
  ASSERT_THAT(SettleAbandonedHunts(*store, options), IsOk());
  struct stat info;
  EXPECT_NE(stat(group.c_str(), &info), 0) << group << " is left behind";
  EXPECT_EQ(stat(other.c_str(), &info), 0) << "another hunt's group was removed";
}

TEST_F(RecoveryTest, LiveOwnersOtherHostsAndUnknownOwnersAreLeftAlone) {
  std::unique_ptr<results::Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<ProcessOwner> self = Self();
  ASSERT_THAT(self, IsOk());
  auto begin = [&](const std::string& id, const std::string& host, int64_t pid,
                   uint64_t ticks) {
    results::HuntRecord hunt;
    hunt.id = id;
    hunt.host = host;
    hunt.owner_pid = pid;
    hunt.owner_start_ticks = ticks;
    EXPECT_THAT(store->BeginHunt(hunt), IsOk());
  };
  begin("live", "host-1", self->pid, self->start_ticks);
  begin("elsewhere", "host-2", self->pid, self->start_ticks + 1);
  begin("unknown", "host-1", 0, 0);
  // Our pid with another start time: a process that died, its pid reused.
  begin("reused", "host-1", self->pid, self->start_ticks + 1);
  begin("finished", "host-1", self->pid, self->start_ticks + 1);
  ASSERT_THAT(store->FinishHunt("finished", "done", clock_.Now()), IsOk());

  SettleOptions options = Settle();
  options.owner_alive = nullptr;  // the real check, against /proc
  absl::StatusOr<std::vector<results::HuntRecord>> found = FindAbandonedHunts(*store, options);
  ASSERT_THAT(found, IsOk());
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].id, "reused");
}

TEST(RoundRecord, RoundTripsAndRejectsOtherFiles) {
  const std::string dir = std::getenv("TEST_TMPDIR");
  EXPECT_EQ(RoundStem("/s/flaky.db.hunts/h1", 3), "/s/flaky.db.hunts/h1/round3");
  const std::string path = RoundRecordPath(dir, 7);
  EXPECT_EQ(path, dir + "/round7.json");
  RoundRecord record{.round = 7,
                     .context = {.hunt_id = "h1",
                                 .profile = "chaos:1,p=50",
                                 .commit = "abc",
                                 .host = "ci-7",
                                 .in_process_repeat = true},
                     .targets = {"//t:a", "//t:b"},
                     .runs = 50,
                     .run_offset = 100,
                     .max_log_bytes = 1024,
                     .bep_path = "/s/round7.bep.json"};
  ASSERT_THAT(WriteRoundRecord(path, record), IsOk());
  absl::StatusOr<RoundRecord> back = ReadRoundRecord(path);
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->round, 7);
  EXPECT_EQ(back->context.hunt_id, "h1");
  EXPECT_EQ(back->context.profile, "chaos:1,p=50");
  EXPECT_EQ(back->context.commit, "abc");
  EXPECT_EQ(back->context.host, "ci-7");
  EXPECT_TRUE(back->context.in_process_repeat);
  EXPECT_EQ(back->targets, record.targets);
  EXPECT_EQ(back->runs, 50);
  EXPECT_EQ(back->run_offset, 100);
  EXPECT_EQ(back->max_log_bytes, 1024);
  EXPECT_EQ(back->bep_path, "/s/round7.bep.json");

  EXPECT_THAT(ReadRoundRecord(dir + "/round8.json"),
              StatusIs(absl::StatusCode::kNotFound));
  std::ofstream(dir + "/round9.json") << "{\"round\": 9}\n";
  EXPECT_THAT(ReadRoundRecord(dir + "/round9.json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(dir + "/round9.json is not a round record")));
  EXPECT_THAT(WriteRoundRecord(dir + "/no/such/dir/round1.json", record),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("cannot write")));
}

TEST(ProcessWithArgument, FindsALiveProcessByItsArgument) {
  const std::string argument =
      absl::StrCat("--build_event_json_file=", std::getenv("TEST_TMPDIR"), "/x.bep.json");
  EXPECT_EQ(ProcessWithArgument(argument), std::nullopt);
  PosixLauncher launcher;
  // sh -c SCRIPT NAME ARG: the argument is in its command line, unused.
  absl::StatusOr<std::unique_ptr<Process>> process =
      launcher.Start({.argv = {"/bin/sh", "-c", "sleep 60", "sh", argument}});
  ASSERT_THAT(process, IsOk());
  std::optional<int64_t> found = ProcessWithArgument(argument);
  (*process)->Kill();
  (*process)->Wait();
  EXPECT_TRUE(found.has_value());
  // The shell's child for `sleep` carries the shell's arguments from its
  // fork to its exec; killed with the group, it may take a moment to go.
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (ProcessWithArgument(argument).has_value()) {
    ASSERT_LT(absl::Now(), deadline) << "a killed process still shows " << argument;
    absl::SleepFor(absl::Milliseconds(10));
  }
}

}  // namespace
}  // namespace flaky::runner
