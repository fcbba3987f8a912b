#include "flaky/results/store.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "base/status_macros.h"
#include "flaky/results/log_keeper.h"
#include "flaky/results/summary.h"
#include "flaky/results/trial.h"
#include "nlohmann/json.hpp"
#include "sqlite3.h"

namespace flaky::results {
namespace {

// The schema, one entry per version: kMigrations[i] takes a database from
// version i to i + 1. Never edit a released entry; append a new one.
constexpr const char* kMigrations[] = {
    // 0 -> 1: hunts and trials.
    R"sql(
CREATE TABLE hunts (
  id TEXT PRIMARY KEY,
  started_at_us INTEGER NOT NULL,
  finished_at_us INTEGER,
  command_line TEXT NOT NULL DEFAULT '',
  commit_sha TEXT NOT NULL DEFAULT '',
  host TEXT NOT NULL DEFAULT '',
  profiles TEXT NOT NULL DEFAULT '[]',
  mode TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL DEFAULT 'running'
);
CREATE TABLE trials (
  id INTEGER PRIMARY KEY,
  hunt_id TEXT NOT NULL REFERENCES hunts(id),
  target TEXT NOT NULL,
  test_case TEXT NOT NULL,
  profile TEXT NOT NULL,
  run INTEGER NOT NULL,
  shard INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  repetition INTEGER NOT NULL,
  outcome TEXT NOT NULL,
  duration_us INTEGER NOT NULL,
  started_at_us INTEGER NOT NULL,
  failure_message TEXT NOT NULL,
  failure_signature TEXT NOT NULL,
  seed INTEGER,
  applied TEXT NOT NULL,
  log_path TEXT NOT NULL,
  commit_sha TEXT NOT NULL,
  host TEXT NOT NULL
);
)sql",
    // 1 -> 2: kept first failing logs, and indexes for summaries.
    R"sql(
ALTER TABLE trials ADD COLUMN kept_log_path TEXT NOT NULL DEFAULT '';
CREATE TABLE kept_logs (
  hunt_id TEXT NOT NULL,
  target TEXT NOT NULL,
  signature TEXT NOT NULL,
  trial_id INTEGER NOT NULL,
  PRIMARY KEY (hunt_id, target, signature)
);
CREATE INDEX trials_by_case ON trials(target, test_case, profile);
CREATE INDEX trials_by_hunt ON trials(hunt_id);
)sql",
    // 2 -> 3: the process that owns each hunt, so the hunts of one that
    // died can be told from live ones; and a lookup by run, so runs
    // recovered from Bazel's build events are never stored twice.
    R"sql(
ALTER TABLE hunts ADD COLUMN owner_pid INTEGER NOT NULL DEFAULT 0;
ALTER TABLE hunts ADD COLUMN owner_start_ticks INTEGER NOT NULL DEFAULT 0;
CREATE INDEX trials_by_run ON trials(hunt_id, target, run, started_at_us);
)sql",
};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) ==
                  kStoreSchemaVersion,
              "one migration per schema version");

// The execution order of trials (see Store::ListTrials).
constexpr char kExecutionOrder[] =
    "t.started_at_us, t.run, t.shard, t.attempt, t.repetition, t.id";

constexpr char kFailureOutcomes[] = "('fail', 'error', 'timeout', 'crashed')";

constexpr char kTrialColumns[] =
    "t.hunt_id, t.target, t.test_case, t.profile, t.run, t.shard, t.attempt, "
    "t.repetition, t.outcome, t.duration_us, t.started_at_us, "
    "t.failure_message, t.failure_signature, t.seed, t.applied, t.log_path, "
    "t.commit_sha, t.host";

absl::StatusCode CodeOf(int sqlite_code) {
  switch (sqlite_code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_PROTOCOL:
      return absl::StatusCode::kUnavailable;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return absl::StatusCode::kFailedPrecondition;
    case SQLITE_CONSTRAINT:
      return absl::StatusCode::kFailedPrecondition;
    default:
      return absl::StatusCode::kInternal;
  }
}

// Statement finalizes a one-off prepared statement when it goes out of
// scope.
class Statement {
 public:
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

 private:
  sqlite3_stmt* stmt_;
};

void BindText(sqlite3_stmt* stmt, int index, absl::string_view text) {
  sqlite3_bind_text(stmt, index, text.data(), static_cast<int>(text.size()),
                    SQLITE_TRANSIENT);
}

// PrepareBound prepares `sql` and binds `binds` (the texts FilterSql
// collected) to its parameters in order. nullptr when SQLite rejects the
// statement (sqlite3_errmsg says why); the caller owns the statement.
sqlite3_stmt* PrepareBound(sqlite3* db, const std::string& sql,
                           const std::vector<std::string>& binds) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return nullptr;
  }
  for (size_t i = 0; i < binds.size(); ++i) {
    BindText(stmt, static_cast<int>(i + 1), binds[i]);
  }
  return stmt;
}

std::string ColumnText(sqlite3_stmt* stmt, int column) {
  const unsigned char* text = sqlite3_column_text(stmt, column);
  if (text == nullptr) return "";
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(stmt, column)));
}

// Seeds are uint64; SQLite integers are int64: store the bits.
int64_t SeedToSql(uint64_t seed) {
  int64_t value;
  std::memcpy(&value, &seed, sizeof(value));
  return value;
}

uint64_t SeedFromSql(int64_t value) {
  uint64_t seed;
  std::memcpy(&seed, &value, sizeof(seed));
  return seed;
}

std::optional<uint64_t> ColumnSeed(sqlite3_stmt* stmt, int column) {
  if (sqlite3_column_type(stmt, column) == SQLITE_NULL) return std::nullopt;
  return SeedFromSql(sqlite3_column_int64(stmt, column));
}

// FilterSql renders `filter` as " AND ..." over trials `t`, with the values
// to bind in order.
std::string FilterSql(const Filter& filter, std::vector<std::string>& binds) {
  std::string sql;
  auto add = [&](const char* column, const std::vector<std::string>& values) {
    if (values.empty()) return;
    absl::StrAppend(&sql, " AND ", column, " IN (");
    for (size_t i = 0; i < values.size(); ++i) {
      absl::StrAppend(&sql, i == 0 ? "?" : ", ?");
      binds.push_back(values[i]);
    }
    sql += ")";
  };
  add("t.hunt_id", filter.hunt_ids);
  add("t.target", filter.targets);
  add("t.profile", filter.profiles);
  return sql;
}

// Sorting a batch into execution order makes the first failure of a
// signature within the batch the one whose log is kept.
bool ExecutesBefore(const Trial& a, const Trial& b) {
  return std::tie(a.started_at, a.run, a.shard, a.attempt, a.repetition) <
         std::tie(b.started_at, b.run, b.shard, b.attempt, b.repetition);
}

// SqliteUri is `path` as a file: URI with `query`, for opening flags
// sqlite3_open_v2 has no argument for.
std::string SqliteUri(const std::string& path, absl::string_view query) {
  std::string uri = "file:";
  for (char c : path) {
    if (c == '%' || c == '?' || c == '#') {
      absl::StrAppend(&uri, "%", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
    } else {
      uri += c;
    }
  }
  return absl::StrCat(uri, "?", query);
}

}  // namespace

Store::Store(std::string path, sqlite3* db, const StoreOptions& options)
    : path_(std::move(path)), db_(db), options_(options) {}

Store::~Store() {
  sqlite3_finalize(insert_trial_);
  sqlite3_finalize(claim_kept_log_);
  sqlite3_finalize(set_kept_log_);
  sqlite3_finalize(unclaim_kept_log_);
  sqlite3_finalize(find_trial_);
  sqlite3_close_v2(db_);
}

absl::Status Store::SqliteError(absl::string_view what) const {
  const int code = sqlite3_extended_errcode(db_);
  if ((code & 0xff) == SQLITE_NOTADB) {
    return absl::FailedPreconditionError(absl::StrCat(
        path_, " is not a flaky store (SQLite: ", sqlite3_errmsg(db_),
        "); pass --store with a new or existing flaky database"));
  }
  return absl::Status(CodeOf(code),
                      absl::StrCat("store ", path_, ": ", what, ": ",
                                   sqlite3_errmsg(db_)));
}

absl::Status Store::Exec(absl::string_view sql) {
  const std::string text(sql);
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr) !=
      SQLITE_OK) {
    return SqliteError(absl::StrCat("cannot run \"", sql.substr(0, 60), "\""));
  }
  return absl::OkStatus();
}


absl::StatusOr<std::unique_ptr<Store>> Store::Open(
    const std::string& path, const StoreOptions& options) {
  sqlite3* db = nullptr;
  const int flags = options.read_only
                        ? SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX
                        : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  const int opened = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (opened != SQLITE_OK) {
    std::string reason = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close_v2(db);
    return absl::UnavailableError(absl::StrCat(
        "cannot open store ", path, ": ", reason,
        options.read_only ? "; check that it exists and is readable"
                          : "; check that its directory exists and is writable"));
  }
  if (!options.read_only && sqlite3_db_readonly(db, "main") == 1) {
    // SQLite falls back to reading a file it may not write; a hunt would
    // only fail later, on its first write, with a vaguer message.
    sqlite3_close_v2(db);
    const std::string why =
        access(path.c_str(), W_OK) != 0 ? std::strerror(errno) : "SQLite opened it read-only";
    return absl::UnavailableError(absl::StrCat(
        "store ", path, " cannot be written (", why,
        "): hunts record into their store; pass --store with a writable path "
        "(report and serve can read this one)"));
  }
  std::unique_ptr<Store> store(new Store(path, db, options));
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(
      db, static_cast<int>(std::min<int64_t>(
              absl::ToInt64Milliseconds(options.busy_timeout), INT32_MAX)));
  if (options.read_only) {
    // Nothing may be written: no journal mode change, no migration. An
    // older schema would need one, and a reader cannot do it.
    FLAKY_RETURN_IF_ERROR(store->Exec("PRAGMA query_only=ON"));
    absl::StatusOr<int> version = store->SchemaVersion();
    if (!version.ok() && (sqlite3_errcode(store->db_) & 0xff) == SQLITE_CANTOPEN) {
      // A WAL store whose last writer closed cleanly has no -wal and -shm
      // files, and a reader cannot create them on a read-only file system
      // (a CI artifact, a read-only mount). Without a -wal file the
      // database file holds everything committed, so it can be read as
      // immutable.
      sqlite3* immutable = nullptr;
      if (sqlite3_open_v2(SqliteUri(path, "immutable=1").c_str(), &immutable,
                          SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI,
                          nullptr) == SQLITE_OK &&
          access((path + "-wal").c_str(), F_OK) != 0) {
        store.reset(new Store(path, immutable, options));
        sqlite3_extended_result_codes(immutable, 1);
        version = store->SchemaVersion();
      } else {
        sqlite3_close_v2(immutable);
      }
    }
    if (!version.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(
          path, " is not a flaky store (", version.status().message(), ")"));
    }
    if (*version < kOldestReadableSchemaVersion || *version > kStoreSchemaVersion) {
      return absl::FailedPreconditionError(absl::StrCat(
          "store ", path, " has schema version ", *version, ", this flaky reads ",
          kOldestReadableSchemaVersion, " to ", kStoreSchemaVersion,
          ": open it once with write access (any hunt does) to migrate it, "
          "or use a matching flaky"));
    }
    store->schema_version_ = *version;
    return store;
  }
  // The first statement reads the header: a non-SQLite file fails here.
  if (absl::Status wal = store->Exec("PRAGMA journal_mode=WAL"); !wal.ok()) {
    if ((sqlite3_errcode(db) & 0xff) == SQLITE_CANTOPEN) {
      return absl::UnavailableError(absl::StrCat(
          "store ", path, " cannot be written: SQLite cannot create its journal ", path,
          "-wal beside it; check that its directory is writable"));
    }
    return wal;
  }
  FLAKY_RETURN_IF_ERROR(store->Exec("PRAGMA synchronous=NORMAL"));
  FLAKY_RETURN_IF_ERROR(store->Exec("PRAGMA foreign_keys=ON"));
  FLAKY_RETURN_IF_ERROR(store->Migrate());

  struct {
    sqlite3_stmt** stmt;
    const char* sql;
  } statements[] = {
      {&store->insert_trial_,
       "INSERT INTO trials (hunt_id, target, test_case, profile, run, shard, "
       "attempt, repetition, outcome, duration_us, started_at_us, "
       "failure_message, failure_signature, seed, applied, log_path, "
       "commit_sha, host) "
       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"},
      {&store->claim_kept_log_,
       "INSERT OR IGNORE INTO kept_logs (hunt_id, target, signature, trial_id) "
       "VALUES (?, ?, ?, ?)"},
      {&store->set_kept_log_,
       "UPDATE trials SET kept_log_path = ? WHERE id = ?"},
      {&store->unclaim_kept_log_,
       "DELETE FROM kept_logs WHERE hunt_id = ? AND target = ? AND "
       "signature = ?"},
      {&store->find_trial_,
       "SELECT 1 FROM trials WHERE hunt_id = ? AND target = ? AND run = ? AND "
       "started_at_us = ? AND test_case = ? AND profile = ? AND shard = ? AND "
       "attempt = ? AND repetition = ? LIMIT 1"},
  };
  for (auto& s : statements) {
    if (sqlite3_prepare_v2(db, s.sql, -1, s.stmt, nullptr) != SQLITE_OK) {
      return store->SqliteError("cannot prepare a statement");
    }
  }
  return store;
}

absl::Status Store::Migrate() {
  // IMMEDIATE takes the write lock first, so two processes opening a new
  // file at once migrate it once, one after the other.
  FLAKY_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  auto migrate = [&]() -> absl::Status {
    FLAKY_RETURN_IF_ERROR(
        Exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER "
             "NOT NULL)"));
    FLAKY_ASSIGN_OR_RETURN(int version, SchemaVersion());
    if (version > kStoreSchemaVersion) {
      return absl::FailedPreconditionError(absl::StrCat(
          "store ", path_, " has schema version ", version,
          ", newer than this flaky's ", kStoreSchemaVersion,
          ": use a newer flaky or another --store"));
    }
    if (version == 0) {
      // A SQLite file that some other program made is not ours to change.
      sqlite3_stmt* stmt = nullptr;
      if (sqlite3_prepare_v2(db_,
                             "SELECT name FROM sqlite_master WHERE type = "
                             "'table' AND name != 'schema_version' LIMIT 1",
                             -1, &stmt, nullptr) != SQLITE_OK) {
        return SqliteError("cannot read the schema");
      }
      Statement owner(stmt);
      if (sqlite3_step(stmt) == SQLITE_ROW) {
        return absl::FailedPreconditionError(absl::StrCat(
            path_, " is a SQLite database but not a flaky store (it has a "
                   "table \"", ColumnText(stmt, 0),
            "\"); pass --store with a new or existing flaky database"));
      }
    }
    for (int v = version; v < kStoreSchemaVersion; ++v) {
      FLAKY_RETURN_IF_ERROR(Exec(kMigrations[v]));
    }
    if (version != kStoreSchemaVersion) {
      FLAKY_RETURN_IF_ERROR(Exec("DELETE FROM schema_version"));
      FLAKY_RETURN_IF_ERROR(
          Exec(absl::StrCat("INSERT INTO schema_version (version) VALUES (",
                            kStoreSchemaVersion, ")")));
    }
    return absl::OkStatus();
  };
  absl::Status status = migrate();
  if (!status.ok()) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return status;
  }
  return Exec("COMMIT");
}

absl::StatusOr<int> Store::SchemaVersion() {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT MAX(version) FROM schema_version", -1,
                         &stmt, nullptr) != SQLITE_OK) {
    return SqliteError("cannot read the schema version");
  }
  Statement owner(stmt);
  if (sqlite3_step(stmt) != SQLITE_ROW) {
    return SqliteError("cannot read the schema version");
  }
  return sqlite3_column_type(stmt, 0) == SQLITE_NULL
             ? 0
             : sqlite3_column_int(stmt, 0);
}

absl::Status Store::CheckWritable() const {
  if (!options_.read_only) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("store ", path_, " was opened read-only"));
}

absl::Status Store::BeginHunt(const HuntRecord& hunt) {
  FLAKY_RETURN_IF_ERROR(CheckWritable());
  if (hunt.id.empty()) {
    return absl::InvalidArgumentError("a hunt needs a non-empty id");
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(
          db_,
          "INSERT INTO hunts (id, started_at_us, command_line, commit_sha, "
          "host, profiles, mode, status, owner_pid, owner_start_ticks) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
          -1, &stmt, nullptr) != SQLITE_OK) {
    return SqliteError("cannot prepare BeginHunt");
  }
  Statement owner(stmt);
  BindText(stmt, 1, hunt.id);
  sqlite3_bind_int64(stmt, 2, absl::ToUnixMicros(hunt.started_at));
  BindText(stmt, 3, hunt.command_line);
  BindText(stmt, 4, hunt.commit);
  BindText(stmt, 5, hunt.host);
  BindText(stmt, 6, nlohmann::json(hunt.profiles).dump());
  BindText(stmt, 7, hunt.mode);
  BindText(stmt, 8,
           hunt.status.empty() ? FormatHuntStatus(HuntStatus::kRunning) : hunt.status);
  sqlite3_bind_int64(stmt, 9, hunt.owner_pid);
  sqlite3_bind_int64(stmt, 10, static_cast<int64_t>(hunt.owner_start_ticks));
  if (sqlite3_step(stmt) != SQLITE_DONE) {
    if (sqlite3_extended_errcode(db_) == SQLITE_CONSTRAINT_PRIMARYKEY) {
      return absl::AlreadyExistsError(absl::StrCat(
          "store ", path_, " already has a hunt with id \"", hunt.id, "\""));
    }
    return SqliteError(absl::StrCat("cannot record hunt ", hunt.id));
  }
  return absl::OkStatus();
}

absl::Status Store::FinishHunt(absl::string_view hunt_id,
                               absl::string_view status,
                               absl::Time finished_at) {
  FLAKY_RETURN_IF_ERROR(CheckWritable());
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(
          db_, "UPDATE hunts SET status = ?, finished_at_us = ? WHERE id = ?",
          -1, &stmt, nullptr) != SQLITE_OK) {
    return SqliteError("cannot prepare FinishHunt");
  }
  Statement owner(stmt);
  BindText(stmt, 1, status);
  sqlite3_bind_int64(stmt, 2, absl::ToUnixMicros(finished_at));
  BindText(stmt, 3, hunt_id);
  if (sqlite3_step(stmt) != SQLITE_DONE) {
    return SqliteError(absl::StrCat("cannot finish hunt ", hunt_id));
  }
  if (sqlite3_changes(db_) == 0) {
    return absl::NotFoundError(absl::StrCat("store ", path_,
                                            " has no hunt with id \"",
                                            hunt_id, "\""));
  }
  return absl::OkStatus();
}

absl::Status Store::InsertOne(const Trial& trial) {
  sqlite3_stmt* stmt = insert_trial_;
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  BindText(stmt, 1, trial.hunt_id);
  BindText(stmt, 2, trial.target);
  BindText(stmt, 3, trial.test_case);
  BindText(stmt, 4, trial.profile);
  sqlite3_bind_int(stmt, 5, trial.run);
  sqlite3_bind_int(stmt, 6, trial.shard);
  sqlite3_bind_int(stmt, 7, trial.attempt);
  sqlite3_bind_int(stmt, 8, trial.repetition);
  BindText(stmt, 9, OutcomeName(trial.outcome));
  sqlite3_bind_int64(stmt, 10, absl::ToInt64Microseconds(trial.duration));
  sqlite3_bind_int64(stmt, 11, absl::ToUnixMicros(trial.started_at));
  BindText(stmt, 12, trial.failure_message);
  BindText(stmt, 13, trial.failure_signature);
  if (trial.seed.has_value()) {
    sqlite3_bind_int64(stmt, 14, SeedToSql(*trial.seed));
  }  // else NULL (cleared above)
  BindText(stmt, 15, trial.applied);
  BindText(stmt, 16, trial.log_path);
  BindText(stmt, 17, trial.commit);
  BindText(stmt, 18, trial.host);
  const int stepped = sqlite3_step(stmt);
  sqlite3_reset(stmt);
  if (stepped != SQLITE_DONE) {
    return SqliteError(absl::StrCat("cannot insert a trial of ", trial.target));
  }
  if (options_.keep_logs && IsFailure(trial.outcome) &&
      !trial.log_path.empty()) {
    return KeepFirstLog(trial, sqlite3_last_insert_rowid(db_));
  }
  return absl::OkStatus();
}

absl::Status Store::KeepFirstLog(const Trial& trial, int64_t trial_id) {
  sqlite3_stmt* claim = claim_kept_log_;
  sqlite3_reset(claim);
  BindText(claim, 1, trial.hunt_id);
  BindText(claim, 2, trial.target);
  BindText(claim, 3, trial.failure_signature);
  sqlite3_bind_int64(claim, 4, trial_id);
  const int stepped = sqlite3_step(claim);
  sqlite3_reset(claim);
  if (stepped != SQLITE_DONE) return SqliteError("cannot claim a kept log");
  if (sqlite3_changes(db_) == 0) return absl::OkStatus();  // kept already

  absl::StatusOr<std::string> kept =
      KeepLog(trial.log_path, logs_dir(), KeptLogName(trial), options_.max_log_bytes);
  if (!kept.ok()) {
    // Not fatal (see InsertTrials): let a later failure of this signature
    // try again, and keep the trial's own log_path meanwhile.
    sqlite3_stmt* unclaim = unclaim_kept_log_;
    sqlite3_reset(unclaim);
    BindText(unclaim, 1, trial.hunt_id);
    BindText(unclaim, 2, trial.target);
    BindText(unclaim, 3, trial.failure_signature);
    const int undone = sqlite3_step(unclaim);
    sqlite3_reset(unclaim);
    if (undone != SQLITE_DONE) return SqliteError("cannot unclaim a kept log");
    return absl::OkStatus();
  }
  sqlite3_stmt* set = set_kept_log_;
  sqlite3_reset(set);
  BindText(set, 1, *kept);
  sqlite3_bind_int64(set, 2, trial_id);
  const int updated = sqlite3_step(set);
  sqlite3_reset(set);
  if (updated != SQLITE_DONE) return SqliteError("cannot record a kept log");
  return absl::OkStatus();
}

absl::StatusOr<bool> Store::Stored(const Trial& trial) {
  sqlite3_stmt* stmt = find_trial_;
  sqlite3_reset(stmt);
  BindText(stmt, 1, trial.hunt_id);
  BindText(stmt, 2, trial.target);
  sqlite3_bind_int(stmt, 3, trial.run);
  sqlite3_bind_int64(stmt, 4, absl::ToUnixMicros(trial.started_at));
  BindText(stmt, 5, trial.test_case);
  BindText(stmt, 6, trial.profile);
  sqlite3_bind_int(stmt, 7, trial.shard);
  sqlite3_bind_int(stmt, 8, trial.attempt);
  sqlite3_bind_int(stmt, 9, trial.repetition);
  const int stepped = sqlite3_step(stmt);
  sqlite3_reset(stmt);
  if (stepped == SQLITE_ROW) return true;
  if (stepped == SQLITE_DONE) return false;
  return SqliteError("cannot look up a trial");
}

absl::StatusOr<bool> Store::RunStored(const RunKey& key) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(
          db_,
          "SELECT 1 FROM trials WHERE hunt_id = ? AND target = ? AND run = ? "
          "AND started_at_us = ? AND profile = ? AND shard = ? AND attempt = ? "
          "LIMIT 1",
          -1, &stmt, nullptr) != SQLITE_OK) {
    return SqliteError("cannot prepare a run lookup");
  }
  Statement owner(stmt);
  BindText(stmt, 1, key.hunt_id);
  BindText(stmt, 2, key.target);
  sqlite3_bind_int(stmt, 3, key.run);
  sqlite3_bind_int64(stmt, 4, absl::ToUnixMicros(key.started_at));
  BindText(stmt, 5, key.profile);
  sqlite3_bind_int(stmt, 6, key.shard);
  sqlite3_bind_int(stmt, 7, key.attempt);
  const int stepped = sqlite3_step(stmt);
  if (stepped == SQLITE_ROW) return true;
  if (stepped == SQLITE_DONE) return false;
  return SqliteError("cannot look up a run");
}

absl::Status Store::InsertTrials(absl::Span<const Trial> trials) {
  return InsertBatch(trials, /*skip_stored=*/false).status();
}

absl::StatusOr<int64_t> Store::InsertNewTrials(absl::Span<const Trial> trials) {
  return InsertBatch(trials, /*skip_stored=*/true);
}

absl::StatusOr<int64_t> Store::InsertBatch(absl::Span<const Trial> trials,
                                           bool skip_stored) {
  FLAKY_RETURN_IF_ERROR(CheckWritable());
  if (trials.empty()) return 0;
  // Name a hunt that was never begun rather than report a foreign key.
  std::set<std::string> hunt_ids;
  for (const Trial& trial : trials) hunt_ids.insert(trial.hunt_id);
  for (const std::string& hunt_id : hunt_ids) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, "SELECT 1 FROM hunts WHERE id = ?", -1, &stmt,
                           nullptr) != SQLITE_OK) {
      return SqliteError("cannot prepare a hunt lookup");
    }
    Statement owner(stmt);
    BindText(stmt, 1, hunt_id);
    const int found = sqlite3_step(stmt);
    if (found == SQLITE_DONE) {
      return absl::FailedPreconditionError(absl::StrCat(
          "store ", path_, ": trials of hunt \"", hunt_id,
          "\", which was not begun (call BeginHunt first)"));
    }
    if (found != SQLITE_ROW) return SqliteError("cannot look up a hunt");
  }

  std::vector<size_t> order(trials.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return ExecutesBefore(trials[a], trials[b]);
  });

  // The lookups of skip_stored happen inside the write transaction, so a
  // concurrent recovery of the same trials waits and then finds them.
  FLAKY_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  int64_t inserted = 0;
  for (size_t index : order) {
    absl::Status status = absl::OkStatus();
    bool skip = false;
    if (skip_stored) {
      absl::StatusOr<bool> stored = Stored(trials[index]);
      status = stored.status();
      skip = stored.ok() && *stored;
    }
    if (status.ok() && !skip) {
      status = InsertOne(trials[index]);
      ++inserted;
    }
    if (!status.ok()) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return status;
    }
  }
  absl::Status committed = Exec("COMMIT");
  if (!committed.ok()) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return committed;
  }
  return inserted;
}

absl::StatusOr<std::vector<HuntRecord>> Store::ListHunts() {
  sqlite3_stmt* stmt = nullptr;
  const std::string sql = absl::StrCat(
      "SELECT h.id, h.started_at_us, h.finished_at_us, h.command_line, "
      "h.commit_sha, h.host, h.profiles, h.mode, h.status, "
      "(SELECT COUNT(*) FROM trials t WHERE t.hunt_id = h.id), ",
      schema_version_ >= 3 ? "h.owner_pid, h.owner_start_ticks" : "0, 0",
      " FROM hunts h ORDER BY h.started_at_us, h.rowid");
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    return SqliteError("cannot list hunts");
  }
  Statement owner(stmt);
  std::vector<HuntRecord> hunts;
  int stepped;
  while ((stepped = sqlite3_step(stmt)) == SQLITE_ROW) {
    HuntRecord hunt;
    hunt.id = ColumnText(stmt, 0);
    hunt.started_at = absl::FromUnixMicros(sqlite3_column_int64(stmt, 1));
    if (sqlite3_column_type(stmt, 2) != SQLITE_NULL) {
      hunt.finished_at = absl::FromUnixMicros(sqlite3_column_int64(stmt, 2));
    }
    hunt.command_line = ColumnText(stmt, 3);
    hunt.commit = ColumnText(stmt, 4);
    hunt.host = ColumnText(stmt, 5);
    nlohmann::json profiles =
        nlohmann::json::parse(ColumnText(stmt, 6), nullptr, false);
    if (profiles.is_array()) {
      for (const nlohmann::json& p : profiles) {
        if (p.is_string()) hunt.profiles.push_back(p.get<std::string>());
      }
    }
    hunt.mode = ColumnText(stmt, 7);
    hunt.status = ColumnText(stmt, 8);
    hunt.trials = sqlite3_column_int64(stmt, 9);
    hunt.owner_pid = sqlite3_column_int64(stmt, 10);
    hunt.owner_start_ticks = static_cast<uint64_t>(sqlite3_column_int64(stmt, 11));
    hunts.push_back(std::move(hunt));
  }
  if (stepped != SQLITE_DONE) return SqliteError("cannot list hunts");
  return hunts;
}

absl::StatusOr<std::vector<Trial>> Store::ListTrials(const Filter& filter) {
  std::vector<std::string> binds;
  const std::string sql =
      absl::StrCat("SELECT ", kTrialColumns, " FROM trials t WHERE 1",
                   FilterSql(filter, binds), " ORDER BY ", kExecutionOrder);
  sqlite3_stmt* stmt = PrepareBound(db_, sql, binds);
  if (stmt == nullptr) return SqliteError("cannot list trials");
  Statement owner(stmt);
  std::vector<Trial> trials;
  int stepped;
  while ((stepped = sqlite3_step(stmt)) == SQLITE_ROW) {
    Trial trial;
    trial.hunt_id = ColumnText(stmt, 0);
    trial.target = ColumnText(stmt, 1);
    trial.test_case = ColumnText(stmt, 2);
    trial.profile = ColumnText(stmt, 3);
    trial.run = sqlite3_column_int(stmt, 4);
    trial.shard = sqlite3_column_int(stmt, 5);
    trial.attempt = sqlite3_column_int(stmt, 6);
    trial.repetition = sqlite3_column_int(stmt, 7);
    trial.outcome = ParseOutcome(ColumnText(stmt, 8)).value_or(Outcome::kError);
    trial.duration = absl::Microseconds(sqlite3_column_int64(stmt, 9));
    trial.started_at = absl::FromUnixMicros(sqlite3_column_int64(stmt, 10));
    trial.failure_message = ColumnText(stmt, 11);
    trial.failure_signature = ColumnText(stmt, 12);
    trial.seed = ColumnSeed(stmt, 13);
    trial.applied = ColumnText(stmt, 14);
    trial.log_path = ColumnText(stmt, 15);
    trial.commit = ColumnText(stmt, 16);
    trial.host = ColumnText(stmt, 17);
    trials.push_back(std::move(trial));
  }
  if (stepped != SQLITE_DONE) return SqliteError("cannot list trials");
  return trials;
}

absl::StatusOr<std::vector<CaseSummary>> Store::Summarize(
    const Filter& filter) {
  constexpr char kKey[] = "t.target, t.test_case, t.profile, h.mode";
  constexpr Outcome kOutcomes[] = {Outcome::kPass,    Outcome::kFail,
                                   Outcome::kError,   Outcome::kSkipped,
                                   Outcome::kTimeout, Outcome::kCrashed};
  std::vector<CaseSummary> summaries;
  std::map<std::tuple<std::string, std::string, std::string, std::string>,
           size_t>
      index;
  {
    // pos: 1-based position among the case's non-skipped trials in
    // execution order (NULL for skipped trials).
    std::vector<std::string> binds;
    std::string counts;
    for (Outcome outcome : kOutcomes) {
      absl::StrAppend(&counts, ", SUM(outcome = '", OutcomeName(outcome),
                      "')");
    }
    const std::string sql = absl::StrCat(
        "WITH c AS (SELECT ", kKey,
        ", t.outcome, t.duration_us, "
        "CASE WHEN t.outcome = 'skipped' THEN NULL ELSE "
        "SUM(t.outcome != 'skipped') OVER (PARTITION BY ",
        kKey, " ORDER BY ", kExecutionOrder,
        " ROWS UNBOUNDED PRECEDING) END AS pos "
        "FROM trials t JOIN hunts h ON h.id = t.hunt_id WHERE 1",
        FilterSql(filter, binds),
        ") SELECT target, test_case, profile, mode, "
        "SUM(outcome != 'skipped'), SUM(outcome IN ",
        kFailureOutcomes, "), MIN(CASE WHEN outcome IN ", kFailureOutcomes,
        " THEN pos END), MAX(CASE WHEN outcome IN ", kFailureOutcomes,
        " THEN pos END), SUM(duration_us)", counts,
        " FROM c GROUP BY target, test_case, profile, mode "
        "ORDER BY target, test_case, profile, mode");
    sqlite3_stmt* stmt = PrepareBound(db_, sql, binds);
    if (stmt == nullptr) return SqliteError("cannot summarize trials");
    Statement owner(stmt);
    int stepped;
    while ((stepped = sqlite3_step(stmt)) == SQLITE_ROW) {
      CaseSummary summary;
      summary.target = ColumnText(stmt, 0);
      summary.test_case = ColumnText(stmt, 1);
      summary.profile = ColumnText(stmt, 2);
      summary.mode = ColumnText(stmt, 3);
      summary.trials = sqlite3_column_int64(stmt, 4);
      summary.failures = sqlite3_column_int64(stmt, 5);
      if (sqlite3_column_type(stmt, 6) != SQLITE_NULL) {
        summary.trials_to_first_failure = sqlite3_column_int64(stmt, 6);
        summary.trials_since_last_failure =
            summary.trials - sqlite3_column_int64(stmt, 7);
      } else {
        summary.trials_since_last_failure = summary.trials;
      }
      summary.total_duration =
          absl::Microseconds(sqlite3_column_int64(stmt, 8));
      for (int i = 0; i < 6; ++i) {
        summary.by_outcome[kOutcomes[i]] = sqlite3_column_int64(stmt, 9 + i);
      }
      index[{summary.target, summary.test_case, summary.profile,
             summary.mode}] = summaries.size();
      summaries.push_back(std::move(summary));
    }
    if (stepped != SQLITE_DONE) return SqliteError("cannot summarize trials");
  }
  {
    // One row per (case, signature): its first occurrence, with the count.
    std::vector<std::string> binds;
    const std::string sql = absl::StrCat(
        "WITH f AS (SELECT ", kKey,
        ", t.failure_signature AS signature, t.failure_message, "
        "CASE WHEN t.kept_log_path != '' THEN t.kept_log_path "
        "ELSE t.log_path END AS log, t.seed, t.run, "
        "ROW_NUMBER() OVER (PARTITION BY ", kKey,
        ", t.failure_signature ORDER BY ", kExecutionOrder,
        ") AS k, COUNT(*) OVER (PARTITION BY ", kKey,
        ", t.failure_signature) AS n, "
        "ROW_NUMBER() OVER (PARTITION BY ", kKey, " ORDER BY ",
        kExecutionOrder,
        ") AS first_seen "
        "FROM trials t JOIN hunts h ON h.id = t.hunt_id WHERE t.outcome IN ",
        kFailureOutcomes, FilterSql(filter, binds),
        ") SELECT target, test_case, profile, mode, signature, n, "
        "failure_message, log, seed, run FROM f WHERE k = 1 "
        "ORDER BY target, test_case, profile, mode, n DESC, first_seen");
    sqlite3_stmt* stmt = PrepareBound(db_, sql, binds);
    if (stmt == nullptr) return SqliteError("cannot summarize failure signatures");
    Statement owner(stmt);
    int stepped;
    while ((stepped = sqlite3_step(stmt)) == SQLITE_ROW) {
      auto it = index.find({ColumnText(stmt, 0), ColumnText(stmt, 1),
                            ColumnText(stmt, 2), ColumnText(stmt, 3)});
      if (it == index.end()) {
        return absl::InternalError(
            "store: a failure signature without its case summary");
      }
      SignatureCount signature;
      signature.signature = ColumnText(stmt, 4);
      signature.count = sqlite3_column_int64(stmt, 5);
      signature.example_message = ColumnText(stmt, 6);
      signature.first_log_path = ColumnText(stmt, 7);
      signature.seed = ColumnSeed(stmt, 8);
      signature.first_run = sqlite3_column_int(stmt, 9);
      summaries[it->second].signatures.push_back(std::move(signature));
    }
    if (stepped != SQLITE_DONE) {
      return SqliteError("cannot summarize failure signatures");
    }
  }
  return summaries;
}

}  // namespace flaky::results
