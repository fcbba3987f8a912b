#include "flaky/results/store.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/status_matchers.h"
#include "base/test_files.h"
#include "flaky/results/signature.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sqlite3.h"

namespace flaky::results {
namespace {

using ::flaky::testing::IsOk;
using ::flaky::testing::ReadFileOrEmpty;
using ::flaky::testing::StatusIs;
using ::flaky::testing::TestTmpPath;
using ::flaky::testing::WriteTestFile;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// A fresh database path per test (the tests share TEST_TMPDIR).
std::string DbPath() {
  const ::testing::TestInfo* info =
      ::testing::UnitTest::GetInstance()->current_test_info();
  return TestTmpPath(
      absl::StrCat(info->test_suite_name(), "_", info->name(), ".db"));
}

// Raw SQL on a database, outside the Store, as another program would.
std::vector<std::string> Query(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  std::vector<std::string> rows;
  sqlite3_exec(
      db, sql.c_str(),
      [](void* out, int columns, char** values, char**) {
        std::string row;
        for (int i = 0; i < columns; ++i) {
          if (i > 0) row += "|";
          row += values[i] == nullptr ? "NULL" : values[i];
        }
        static_cast<std::vector<std::string>*>(out)->push_back(row);
        return 0;
      },
      &rows, nullptr);
  EXPECT_EQ(sqlite3_errcode(db), SQLITE_OK) << sqlite3_errmsg(db) << ": " << sql;
  sqlite3_close(db);
  return rows;
}

HuntRecord Hunt(absl::string_view id) {
  HuntRecord hunt;
  hunt.id = std::string(id);
  hunt.started_at = absl::FromUnixSeconds(1795800000);
  hunt.command_line = "flaky hunt //t:x --profiles=none,cgroup:20";
  hunt.commit = "8cd9e98";
  hunt.host = "ci-7";
  hunt.profiles = {"none", "cgroup:20"};
  hunt.mode = "bazel_runs";
  return hunt;
}

Trial MakeTrial(absl::string_view hunt, int run, Outcome outcome,
                absl::string_view message = "") {
  Trial trial;
  trial.hunt_id = std::string(hunt);
  trial.target = "//t:x";
  trial.test_case = "Suite.Case";
  trial.profile = "none";
  trial.run = run;
  trial.outcome = outcome;
  trial.duration = absl::Milliseconds(10 * run);
  trial.started_at = absl::FromUnixSeconds(1795800000 + run);
  trial.failure_message = std::string(message);
  trial.failure_signature = FailureSignature(message);
  return trial;
}

StoreOptions NoKeptLogs() {
  StoreOptions options;
  options.keep_logs = false;
  return options;
}

std::unique_ptr<Store> OpenOrDie(const std::string& path,
                                 const StoreOptions& options = {}) {
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path, options);
  EXPECT_THAT(store, IsOk());
  return store.ok() ? *std::move(store) : nullptr;
}

TEST(Store, OpenCreatesTheCurrentSchemaInWalMode) {
  const std::string path = DbPath();
  std::unique_ptr<Store> store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(*store->SchemaVersion(), kStoreSchemaVersion);
  EXPECT_EQ(store->logs_dir(), path + ".logs");
  EXPECT_THAT(Query(path, "PRAGMA journal_mode"), ElementsAre("wal"));
  EXPECT_THAT(Query(path, "SELECT version FROM schema_version"),
              ElementsAre(absl::StrCat(kStoreSchemaVersion)));
  // Opening again changes nothing.
  store.reset();
  store = OpenOrDie(path);
  EXPECT_THAT(Query(path, "SELECT version FROM schema_version"),
              ElementsAre(absl::StrCat(kStoreSchemaVersion)));
}

TEST(Store, MigratesAVersionOneDatabase) {
  const std::string path = DbPath();
  // Exactly what a version-1 flaky wrote (schema and a trial).
  Query(path, R"sql(
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version VALUES (1);
CREATE TABLE hunts (
  id TEXT PRIMARY KEY, started_at_us INTEGER NOT NULL, finished_at_us INTEGER,
  command_line TEXT NOT NULL DEFAULT '', commit_sha TEXT NOT NULL DEFAULT '',
  host TEXT NOT NULL DEFAULT '', profiles TEXT NOT NULL DEFAULT '[]',
  mode TEXT NOT NULL DEFAULT '', status TEXT NOT NULL DEFAULT 'running');
CREATE TABLE trials (
  id INTEGER PRIMARY KEY, hunt_id TEXT NOT NULL REFERENCES hunts(id),
  target TEXT NOT NULL, test_case TEXT NOT NULL, profile TEXT NOT NULL,
  run INTEGER NOT NULL, shard INTEGER NOT NULL, attempt INTEGER NOT NULL,
  repetition INTEGER NOT NULL, outcome TEXT NOT NULL,
  duration_us INTEGER NOT NULL, started_at_us INTEGER NOT NULL,
  failure_message TEXT NOT NULL, failure_signature TEXT NOT NULL,
  seed INTEGER, applied TEXT NOT NULL, log_path TEXT NOT NULL,
  commit_sha TEXT NOT NULL, host TEXT NOT NULL);
INSERT INTO hunts (id, started_at_us, mode, status)
  VALUES ('old', 1000000, 'bazel_runs', 'done');
INSERT INTO trials VALUES (1, 'old', '//t:x', 'Suite.Case', 'none', 1, 0, 1,
  0, 'fail', 5000, 2000000, 'boom 1', 'boom N', 7, '', '/logs/1', 'abc', 'h');
)sql");
  std::unique_ptr<Store> store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(*store->SchemaVersion(), kStoreSchemaVersion);
  EXPECT_THAT(Query(path, "SELECT kept_log_path FROM trials"), ElementsAre(""));
  absl::StatusOr<std::vector<Trial>> trials = store->ListTrials({});
  ASSERT_THAT(trials, IsOk());
  ASSERT_EQ(trials->size(), 1u);
  EXPECT_EQ((*trials)[0].failure_message, "boom 1");
  EXPECT_EQ((*trials)[0].seed, 7u);
  absl::StatusOr<std::vector<CaseSummary>> summary = store->Summarize({});
  ASSERT_THAT(summary, IsOk());
  ASSERT_EQ(summary->size(), 1u);
  EXPECT_EQ((*summary)[0].failures, 1);
  ASSERT_EQ((*summary)[0].signatures.size(), 1u);
  EXPECT_EQ((*summary)[0].signatures[0].first_log_path, "/logs/1");
  // The migrated store takes new trials, with log keeping.
  ASSERT_THAT(store->BeginHunt(Hunt("new")), IsOk());
  EXPECT_THAT(store->InsertTrials({MakeTrial("new", 1, Outcome::kPass)}),
              IsOk());
}

// What a version-2 flaky wrote: version 1 and its first migration.
constexpr char kVersionTwoStore[] = R"sql(
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version VALUES (2);
CREATE TABLE hunts (
  id TEXT PRIMARY KEY, started_at_us INTEGER NOT NULL, finished_at_us INTEGER,
  command_line TEXT NOT NULL DEFAULT '', commit_sha TEXT NOT NULL DEFAULT '',
  host TEXT NOT NULL DEFAULT '', profiles TEXT NOT NULL DEFAULT '[]',
  mode TEXT NOT NULL DEFAULT '', status TEXT NOT NULL DEFAULT 'running');
CREATE TABLE trials (
  id INTEGER PRIMARY KEY, hunt_id TEXT NOT NULL REFERENCES hunts(id),
  target TEXT NOT NULL, test_case TEXT NOT NULL, profile TEXT NOT NULL,
  run INTEGER NOT NULL, shard INTEGER NOT NULL, attempt INTEGER NOT NULL,
  repetition INTEGER NOT NULL, outcome TEXT NOT NULL,
  duration_us INTEGER NOT NULL, started_at_us INTEGER NOT NULL,
  failure_message TEXT NOT NULL, failure_signature TEXT NOT NULL,
  seed INTEGER, applied TEXT NOT NULL, log_path TEXT NOT NULL,
  commit_sha TEXT NOT NULL, host TEXT NOT NULL,
  kept_log_path TEXT NOT NULL DEFAULT '');
CREATE TABLE kept_logs (
  hunt_id TEXT NOT NULL, target TEXT NOT NULL, signature TEXT NOT NULL,
  trial_id INTEGER NOT NULL, PRIMARY KEY (hunt_id, target, signature));
CREATE INDEX trials_by_case ON trials(target, test_case, profile);
CREATE INDEX trials_by_hunt ON trials(hunt_id);
INSERT INTO hunts (id, started_at_us, host, mode, status)
  VALUES ('old', 1000000, 'ci-7', 'bazel_runs', 'running');
INSERT INTO trials VALUES (1, 'old', '//t:x', 'Suite.Case', 'none', 1, 0, 1,
  0, 'pass', 5000, 2000000, '', '', NULL, '', '/logs/1', 'abc', 'h', '');
)sql";

TEST(Store, AVersionTwoStoreIsReadAsItIsAndMigratedByAWriter) {
  const std::string path = DbPath();
  Query(path, kVersionTwoStore);
  StoreOptions read_only = NoKeptLogs();
  read_only.read_only = true;
  {
    // A reader cannot migrate, and need not: the hunt's owner is unknown.
    std::unique_ptr<Store> store = OpenOrDie(path, read_only);
    ASSERT_NE(store, nullptr);
    absl::StatusOr<std::vector<HuntRecord>> hunts = store->ListHunts();
    ASSERT_THAT(hunts, IsOk());
    ASSERT_EQ(hunts->size(), 1u);
    EXPECT_EQ((*hunts)[0].status, "running");
    EXPECT_EQ((*hunts)[0].owner_pid, 0);
    EXPECT_EQ((*hunts)[0].trials, 1);
    EXPECT_THAT(store->Summarize({}), IsOk());
  }
  EXPECT_THAT(Query(path, "SELECT version FROM schema_version"), ElementsAre("2"));
  std::unique_ptr<Store> store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(*store->SchemaVersion(), 3);
  absl::StatusOr<std::vector<HuntRecord>> hunts = store->ListHunts();
  ASSERT_THAT(hunts, IsOk());
  ASSERT_EQ(hunts->size(), 1u);
  EXPECT_EQ((*hunts)[0].owner_pid, 0);
  EXPECT_EQ((*hunts)[0].owner_start_ticks, 0u);
  absl::StatusOr<std::vector<Trial>> trials = store->ListTrials({});
  ASSERT_THAT(trials, IsOk());
  ASSERT_EQ(trials->size(), 1u);
  EXPECT_EQ((*trials)[0].log_path, "/logs/1");
}

TEST(Store, AHuntRecordsItsOwner) {
  std::unique_ptr<Store> store = OpenOrDie(DbPath());
  ASSERT_NE(store, nullptr);
  HuntRecord hunt = Hunt("h1");
  hunt.owner_pid = 4242;
  hunt.owner_start_ticks = 77001;
  ASSERT_THAT(store->BeginHunt(hunt), IsOk());
  absl::StatusOr<std::vector<HuntRecord>> hunts = store->ListHunts();
  ASSERT_THAT(hunts, IsOk());
  ASSERT_EQ(hunts->size(), 1u);
  EXPECT_EQ((*hunts)[0].owner_pid, 4242);
  EXPECT_EQ((*hunts)[0].owner_start_ticks, 77001u);
}

TEST(Store, InsertNewTrialsStoresOnlyTrialsNotStoredYet) {
  std::unique_ptr<Store> store = OpenOrDie(DbPath(), NoKeptLogs());
  ASSERT_NE(store, nullptr);
  ASSERT_THAT(store->BeginHunt(Hunt("h1")), IsOk());
  ASSERT_THAT(store->BeginHunt(Hunt("h2")), IsOk());
  const Trial first = MakeTrial("h1", 1, Outcome::kPass);
  const Trial second = MakeTrial("h1", 2, Outcome::kFail, "boom");
  ASSERT_THAT(store->InsertTrials({first, second}), IsOk());
  // Run 1 of a later round: same run number, another start.
  Trial next_round = first;
  next_round.started_at += absl::Minutes(5);
  // Another case, repetition, shard, attempt, profile or hunt of the same
  // run is another trial.
  Trial other_case = first;
  other_case.test_case = "Suite.Other";
  Trial other_repetition = first;
  other_repetition.repetition = 1;
  Trial other_shard = first;
  other_shard.shard = 2;
  Trial other_attempt = first;
  other_attempt.attempt = 2;
  Trial other_profile = first;
  other_profile.profile = "cgroup:20";
  Trial other_hunt = first;
  other_hunt.hunt_id = "h2";
  const std::vector<Trial> recovered = {first,         second,           next_round,
                                        other_case,    other_repetition, other_shard,
                                        other_attempt, other_profile,    other_hunt,
                                        other_hunt};
  absl::StatusOr<int64_t> stored = store->InsertNewTrials(recovered);
  ASSERT_THAT(stored, IsOk());
  EXPECT_EQ(*stored, 7);  // all but first, second and other_hunt's twin
  stored = store->InsertNewTrials(recovered);
  ASSERT_THAT(stored, IsOk());
  EXPECT_EQ(*stored, 0);
  EXPECT_THAT(Query(DbPath(), "SELECT COUNT(*) FROM trials"), ElementsAre("9"));
  RunKey key{.hunt_id = "h1", .target = "//t:x", .profile = "none", .run = 2,
             .shard = 0, .attempt = 1, .started_at = second.started_at};
  EXPECT_EQ(store->RunStored(key).value_or(false), true);
  key.started_at += absl::Seconds(1);
  EXPECT_EQ(store->RunStored(key).value_or(true), false);
  EXPECT_THAT(store->InsertNewTrials({MakeTrial("ghost", 1, Outcome::kPass)}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("hunt \"ghost\", which was not begun")));
}

TEST(Store, ReadOnlyOpenReadsAndNeverWrites) {
  const std::string path = DbPath();
  {
    std::unique_ptr<Store> store = OpenOrDie(path, NoKeptLogs());
    ASSERT_THAT(store->BeginHunt(Hunt("h")), IsOk());
    ASSERT_THAT(store->InsertTrials({MakeTrial("h", 1, Outcome::kFail, "boom")}), IsOk());
  }
  StoreOptions read_only = NoKeptLogs();
  read_only.read_only = true;
  std::unique_ptr<Store> store = OpenOrDie(path, read_only);
  ASSERT_NE(store, nullptr);
  absl::StatusOr<std::vector<CaseSummary>> summary = store->Summarize({});
  ASSERT_THAT(summary, IsOk());
  ASSERT_EQ(summary->size(), 1u);
  EXPECT_EQ((*summary)[0].failures, 1);
  EXPECT_THAT(store->BeginHunt(Hunt("h2")),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("read-only")));
  EXPECT_THAT(store->InsertTrials({MakeTrial("h", 2, Outcome::kPass)}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("read-only")));
  EXPECT_THAT(store->FinishHunt("h", "done", absl::Now()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("read-only")));
  store.reset();
  EXPECT_THAT(Query(path, "SELECT COUNT(*) FROM hunts"), ElementsAre("1"));
  // A store that does not exist is not created.
  EXPECT_THAT(Store::Open(DbPath() + ".missing", read_only),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("exists and is readable")));
  // An old schema needs a writer to migrate it; a reader says so.
  Query(path, "UPDATE schema_version SET version = 1");
  EXPECT_THAT(Store::Open(path, read_only),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("open it once with write access")));
}

TEST(Store, NewerSchemaIsFailedPrecondition) {
  const std::string path = DbPath();
  ASSERT_NE(OpenOrDie(path), nullptr);
  Query(path, "UPDATE schema_version SET version = 99");
  EXPECT_THAT(Store::Open(path),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr(path), HasSubstr("schema version 99"),
                             HasSubstr("newer"))));
}

TEST(Store, ForeignSqliteDatabaseIsFailedPrecondition) {
  const std::string path = DbPath();
  Query(path, "CREATE TABLE photos (id INTEGER)");
  EXPECT_THAT(Store::Open(path),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr(path),
                             HasSubstr("is a SQLite database but not a flaky "
                                       "store (it has a table \"photos\")"))));
  // Nothing was added to it.
  EXPECT_THAT(Query(path, "SELECT name FROM sqlite_master"),
              ElementsAre("photos"));
}

TEST(Store, NonDatabaseFileIsFailedPrecondition) {
  const std::string path = DbPath();
  WriteTestFile(path,
                std::string(4096, 'x') + "this is a text file, not SQLite\n");
  EXPECT_THAT(Store::Open(path),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(StartsWith(path),
                             HasSubstr("is not a flaky store"),
                             HasSubstr("file is not a database"))));
}

TEST(Store, UnwritablePathIsUnavailable) {
  // A regular file where a directory should be fails even for root.
  const std::string blocker = TestTmpPath("blocker_file");
  WriteTestFile(blocker, "x");
  const std::string path = blocker + "/flaky.db";
  EXPECT_THAT(Store::Open(path),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr("cannot open store " + path),
                             HasSubstr("directory exists and is writable"))));
  EXPECT_THAT(Store::Open(TestTmpPath("no/such/dir/flaky.db")),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST(Store, TrialsRoundTrip) {
  std::unique_ptr<Store> store = OpenOrDie(DbPath());
  ASSERT_NE(store, nullptr);
  ASSERT_THAT(store->BeginHunt(Hunt("h1")), IsOk());
  Trial full = MakeTrial("h1", 3, Outcome::kFail, "ID 61\nat 0x7ffd0010");
  full.shard = 2;
  full.attempt = 3;
  full.repetition = 4;
  full.seed = std::numeric_limits<uint64_t>::max();
  full.applied = R"({"cgroup":"cpu.max 20000 100000"})";
  full.log_path = "/nonexistent/test.log";
  full.commit = "8cd9e98";
  full.host = "ci-7";
  full.duration = absl::Microseconds(123456);
  full.started_at = absl::FromUnixMicros(1795801335350123);
  Trial plain = MakeTrial("h1", 1, Outcome::kSkipped);
  plain.test_case = "";  // a whole-target trial
  ASSERT_THAT(store->InsertTrials({full, plain}), IsOk());
  absl::StatusOr<std::vector<Trial>> back = store->ListTrials({});
  ASSERT_THAT(back, IsOk());
  ASSERT_EQ(back->size(), 2u);
  // Execution order: run 1 started first.
  const Trial& a = (*back)[0];
  EXPECT_EQ(a.test_case, "");
  EXPECT_EQ(a.outcome, Outcome::kSkipped);
  EXPECT_EQ(a.seed, std::nullopt);
  const Trial& b = (*back)[1];
  EXPECT_EQ(b.hunt_id, full.hunt_id);
  EXPECT_EQ(b.target, full.target);
  EXPECT_EQ(b.test_case, full.test_case);
  EXPECT_EQ(b.profile, full.profile);
  EXPECT_EQ(b.run, 3);
  EXPECT_EQ(b.shard, 2);
  EXPECT_EQ(b.attempt, 3);
  EXPECT_EQ(b.repetition, 4);
  EXPECT_EQ(b.outcome, Outcome::kFail);
  EXPECT_EQ(b.duration, full.duration);
  EXPECT_EQ(b.started_at, full.started_at);
  EXPECT_EQ(b.failure_message, full.failure_message);
  EXPECT_EQ(b.failure_signature, "ID N | at ADDR");
  EXPECT_EQ(b.seed, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(b.applied, full.applied);
  EXPECT_EQ(b.log_path, full.log_path);
  EXPECT_EQ(b.commit, full.commit);
  EXPECT_EQ(b.host, full.host);
}

TEST(Store, HuntsLifecycleAndErrors) {
  std::unique_ptr<Store> store = OpenOrDie(DbPath());
  ASSERT_NE(store, nullptr);
  ASSERT_THAT(store->BeginHunt(Hunt("h1")), IsOk());
  EXPECT_THAT(store->BeginHunt(Hunt("h1")),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       HasSubstr("already has a hunt with id \"h1\"")));
  EXPECT_THAT(store->BeginHunt(Hunt("")),
              StatusIs(absl::StatusCode::kInvalidArgument));
  HuntRecord second = Hunt("h2");
  second.started_at += absl::Hours(1);
  second.mode = "in_process_repeat";
  ASSERT_THAT(store->BeginHunt(second), IsOk());
  ASSERT_THAT(store->InsertTrials({MakeTrial("h1", 1, Outcome::kPass),
                                   MakeTrial("h1", 2, Outcome::kPass)}),
              IsOk());
  const absl::Time end = absl::FromUnixSeconds(1795809999);
  ASSERT_THAT(store->FinishHunt("h1", "done", end), IsOk());
  EXPECT_THAT(store->FinishHunt("nope", "done", end),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("\"nope\"")));
  // Trials of a hunt never begun: rejected, and the batch is not stored.
  EXPECT_THAT(store->InsertTrials({MakeTrial("h1", 3, Outcome::kPass),
                                   MakeTrial("ghost", 1, Outcome::kPass)}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("hunt \"ghost\", which was not begun")));

  absl::StatusOr<std::vector<HuntRecord>> hunts = store->ListHunts();
  ASSERT_THAT(hunts, IsOk());
  ASSERT_EQ(hunts->size(), 2u);
  const HuntRecord& h1 = (*hunts)[0];
  EXPECT_EQ(h1.id, "h1");
  EXPECT_EQ(h1.status, "done");
  EXPECT_EQ(h1.finished_at, end);
  EXPECT_EQ(h1.trials, 2);
  EXPECT_EQ(h1.started_at, absl::FromUnixSeconds(1795800000));
  EXPECT_EQ(h1.command_line, "flaky hunt //t:x --profiles=none,cgroup:20");
  EXPECT_EQ(h1.commit, "8cd9e98");
  EXPECT_EQ(h1.host, "ci-7");
  EXPECT_THAT(h1.profiles, ElementsAre("none", "cgroup:20"));
  EXPECT_EQ(h1.mode, "bazel_runs");
  EXPECT_EQ((*hunts)[1].id, "h2");
  EXPECT_EQ((*hunts)[1].status, "running");
  EXPECT_EQ((*hunts)[1].finished_at, std::nullopt);
  EXPECT_EQ((*hunts)[1].mode, "in_process_repeat");
  EXPECT_EQ((*hunts)[1].trials, 0);
}

TEST(Store, SummarizeMatchesHandComputedValues) {
  std::unique_ptr<Store> store = OpenOrDie(DbPath(), NoKeptLogs());
  ASSERT_NE(store, nullptr);
  ASSERT_THAT(store->BeginHunt(Hunt("h1")), IsOk());
  // Execution order (run = start second), inserted out of order and in two
  // batches, as BEP completion order delivers them:
  //   run: 1    2    3    4            5    6        7            8    9    10
  //        pass skip pass fail(ID 60)  pass timeout  fail(ID 61)  skip pass pass
  // Non-skipped positions: runs 1,3,4,5,6,7,9,10 -> 1..8; failures at 3,5,6.
  std::vector<Trial> trials = {
      MakeTrial("h1", 7, Outcome::kFail, "unrecognized interpreter ID 61"),
      MakeTrial("h1", 2, Outcome::kSkipped),
      MakeTrial("h1", 10, Outcome::kPass),
      MakeTrial("h1", 4, Outcome::kFail, "unrecognized interpreter ID 60"),
      MakeTrial("h1", 1, Outcome::kPass),
  };
  trials[3].seed = 42;
  trials[3].log_path = "/logs/run4";
  std::vector<Trial> more = {
      MakeTrial("h1", 6, Outcome::kTimeout, "timed out after 5000ms"),
      MakeTrial("h1", 3, Outcome::kPass),
      MakeTrial("h1", 9, Outcome::kPass),
      MakeTrial("h1", 8, Outcome::kSkipped),
      MakeTrial("h1", 5, Outcome::kPass),
  };
  // Another profile of the same case: never fails.
  for (int run = 1; run <= 4; ++run) {
    Trial t = MakeTrial("h1", run, Outcome::kPass);
    t.profile = "cgroup:20";
    more.push_back(t);
  }
  ASSERT_THAT(store->InsertTrials(trials), IsOk());
  ASSERT_THAT(store->InsertTrials(more), IsOk());

  absl::StatusOr<std::vector<CaseSummary>> all = store->Summarize({});
  ASSERT_THAT(all, IsOk());
  ASSERT_EQ(all->size(), 2u);
  // Ordered by (target, test case, profile, mode): "cgroup:20" < "none".
  const CaseSummary& quiet = (*all)[0];
  EXPECT_EQ(quiet.profile, "cgroup:20");
  EXPECT_EQ(quiet.trials, 4);
  EXPECT_EQ(quiet.failures, 0);
  EXPECT_EQ(quiet.trials_to_first_failure, std::nullopt);
  EXPECT_EQ(quiet.trials_since_last_failure, 4);
  EXPECT_TRUE(quiet.signatures.empty());

  const CaseSummary& s = (*all)[1];
  EXPECT_EQ(s.target, "//t:x");
  EXPECT_EQ(s.test_case, "Suite.Case");
  EXPECT_EQ(s.profile, "none");
  EXPECT_EQ(s.mode, "bazel_runs");
  EXPECT_EQ(s.trials, 8);
  EXPECT_EQ(s.failures, 3);
  EXPECT_EQ(s.trials_to_first_failure, 3);
  EXPECT_EQ(s.trials_since_last_failure, 2);
  const std::map<Outcome, int64_t> expected_outcomes = {
      {Outcome::kPass, 5},    {Outcome::kFail, 2},    {Outcome::kError, 0},
      {Outcome::kSkipped, 2}, {Outcome::kTimeout, 1}, {Outcome::kCrashed, 0}};
  EXPECT_EQ(s.by_outcome, expected_outcomes);
  // Durations are 10 ms x run over all ten runs: 10 * 55 ms.
  EXPECT_EQ(s.total_duration, absl::Milliseconds(550));
  ASSERT_EQ(s.signatures.size(), 2u);
  EXPECT_EQ(s.signatures[0].signature, "unrecognized interpreter ID N");
  EXPECT_EQ(s.signatures[0].count, 2);
  EXPECT_EQ(s.signatures[0].example_message, "unrecognized interpreter ID 60");
  EXPECT_EQ(s.signatures[0].first_run, 4);
  EXPECT_EQ(s.signatures[0].seed, 42u);
  EXPECT_EQ(s.signatures[0].first_log_path, "/logs/run4");
  EXPECT_EQ(s.signatures[1].signature, "timed out after Nms");
  EXPECT_EQ(s.signatures[1].count, 1);
  EXPECT_EQ(s.signatures[1].first_run, 6);
  EXPECT_EQ(s.signatures[1].seed, std::nullopt);

  // Filters.
  Filter by_profile;
  by_profile.profiles = {"cgroup:20"};
  absl::StatusOr<std::vector<CaseSummary>> cgroup = store->Summarize(by_profile);
  ASSERT_THAT(cgroup, IsOk());
  ASSERT_EQ(cgroup->size(), 1u);
  EXPECT_EQ((*cgroup)[0].trials, 4);
  Filter other_hunt;
  other_hunt.hunt_ids = {"other"};
  absl::StatusOr<std::vector<CaseSummary>> none = store->Summarize(other_hunt);
  ASSERT_THAT(none, IsOk());
  EXPECT_TRUE(none->empty());
  Filter everything;
  everything.hunt_ids = {"h1"};
  everything.targets = {"//t:x"};
  everything.profiles = {"none", "cgroup:20"};
  absl::StatusOr<std::vector<CaseSummary>> by_target =
      store->Summarize(everything);
  ASSERT_THAT(by_target, IsOk());
  EXPECT_EQ(by_target->size(), 2u);
}

TEST(Store, KeepsTheFirstFailingLogOfEachSignature) {
  const std::string path = DbPath();
  std::unique_ptr<Store> store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  ASSERT_THAT(store->BeginHunt(Hunt("h1")), IsOk());
  // Bazel reuses run_K_of_N between invocations: the same path is written
  // again before the second batch.
  const std::string log = TestTmpPath("keep_run_2_of_3.log");
  WriteTestFile(log, "first invocation: unrecognized interpreter ID 60\n");
  Trial first = MakeTrial("h1", 2, Outcome::kFail, "unrecognized interpreter ID 60");
  first.log_path = log;
  Trial missing = MakeTrial("h1", 3, Outcome::kFail, "interpreter already running");
  missing.log_path = TestTmpPath("never_written.log");
  ASSERT_THAT(store->InsertTrials({first, missing}), IsOk());

  WriteTestFile(log, "second invocation: unrecognized interpreter ID 61\n");
  Trial again = MakeTrial("h1", 12, Outcome::kFail, "unrecognized interpreter ID 61");
  again.log_path = log;
  ASSERT_THAT(store->InsertTrials({again}), IsOk());

  absl::StatusOr<std::vector<CaseSummary>> summary = store->Summarize({});
  ASSERT_THAT(summary, IsOk());
  ASSERT_EQ(summary->size(), 1u);
  ASSERT_EQ((*summary)[0].signatures.size(), 2u);
  const SignatureCount& kept = (*summary)[0].signatures[0];
  EXPECT_EQ(kept.count, 2);
  EXPECT_THAT(kept.first_log_path, StartsWith(path + ".logs/"));
  EXPECT_EQ(ReadFileOrEmpty(kept.first_log_path),
            "first invocation: unrecognized interpreter ID 60\n");
  // A log that cannot be copied leaves the trial's own path.
  EXPECT_EQ((*summary)[0].signatures[1].first_log_path,
            TestTmpPath("never_written.log"));
  // Only one copy per (hunt, target, signature).
  EXPECT_THAT(Query(path, "SELECT COUNT(*) FROM kept_logs"), ElementsAre("1"));
}

TEST(Store, TwoStoresShareAFile) {
  const std::string path = DbPath();
  std::unique_ptr<Store> a = OpenOrDie(path);
  std::unique_ptr<Store> b = OpenOrDie(path);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_THAT(a->BeginHunt(Hunt("h1")), IsOk());
  for (int run = 1; run <= 10; ++run) {
    Store& store = run % 2 == 0 ? *a : *b;
    ASSERT_THAT(store.InsertTrials({MakeTrial("h1", run, Outcome::kPass)}),
                IsOk());
  }
  absl::StatusOr<std::vector<Trial>> trials = a->ListTrials({});
  ASSERT_THAT(trials, IsOk());
  EXPECT_EQ(trials->size(), 10u);
}

// The child of the interrupted-write test: inserts batches forever and
// reports on `ack` 'b' before each batch and 'c' after its commit.
[[noreturn]] void InsertForever(const std::string& path, int ack,
                                int batch_size) {
  absl::StatusOr<std::unique_ptr<Store>> store =
      Store::Open(path, NoKeptLogs());
  if (!store.ok()) _exit(2);
  for (int batch = 0;; ++batch) {
    std::vector<Trial> trials;
    trials.reserve(batch_size);
    for (int i = 0; i < batch_size; ++i) {
      Trial trial = MakeTrial("h1", i + 1, i % 7 == 0 ? Outcome::kFail
                                                      : Outcome::kPass,
                              "boom");
      trial.repetition = batch;
      trials.push_back(std::move(trial));
    }
    if (write(ack, "b", 1) != 1) _exit(4);
    if (!(*store)->InsertTrials(trials).ok()) _exit(3);
    if (write(ack, "c", 1) != 1) _exit(4);
  }
}

TEST(Store, KilledWriterLeavesWholeBatchesOnly) {
  const std::string path = DbPath();
  {
    std::unique_ptr<Store> store = OpenOrDie(path);
    ASSERT_NE(store, nullptr);
    ASSERT_THAT(store->BeginHunt(Hunt("h1")), IsOk());
  }
  constexpr int kBatch = 2000;
  constexpr int kAckedBeforeKill = 5;
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(pipe_fds[0]);
    InsertForever(path, pipe_fds[1], kBatch);
  }
  close(pipe_fds[1]);
  // Wait for the child's acknowledgements (blocking reads, no sleeps); a
  // child that dies early closes the pipe and fails the test. Kill it right
  // after it announces the batch following the acknowledged ones, so the
  // SIGKILL lands while that batch is being written (a 2000-trial batch
  // takes milliseconds; the kill arrives within microseconds).
  int committed = 0;
  while (true) {
    char byte;
    ASSERT_EQ(read(pipe_fds[0], &byte, 1), 1)
        << "the writer died after " << committed << " batches";
    if (byte == 'c') ++committed;
    if (byte == 'b' && committed == kAckedBeforeKill) break;
  }
  ASSERT_EQ(kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  close(pipe_fds[0]);

  std::unique_ptr<Store> store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  EXPECT_THAT(Query(path, "PRAGMA integrity_check"), ElementsAre("ok"));
  // Every stored batch is whole, and every acknowledged batch is there.
  std::vector<std::string> batches = Query(
      path,
      "SELECT repetition, COUNT(*) FROM trials GROUP BY repetition "
      "ORDER BY repetition");
  // The batch in flight is either wholly there (it committed before the
  // signal landed) or wholly absent.
  ASSERT_GE(batches.size(), static_cast<size_t>(kAckedBeforeKill));
  ASSERT_LE(batches.size(), static_cast<size_t>(kAckedBeforeKill + 1));
  // 5 means the kill interrupted the sixth batch (the usual case).
  ::testing::Test::RecordProperty("batches_stored",
                                  static_cast<int>(batches.size()));
  for (size_t i = 0; i < batches.size(); ++i) {
    EXPECT_EQ(batches[i], absl::StrCat(i, "|", kBatch));
  }
  // And the store keeps working.
  EXPECT_THAT(store->InsertTrials({MakeTrial("h1", 1, Outcome::kPass)}),
              IsOk());
}

}  // namespace
}  // namespace flaky::results
