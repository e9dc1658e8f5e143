#include "store/database.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "store/migrations.h"

namespace sluice::store {

int current_schema_version() { return static_cast<int>(migrations().size()); }

Database::Database(const std::string& path, Mode mode) : path_(path) {
  // Before sqlite's first use in the process (once): no memory statistics.
  // sqlite counts every allocation under a global mutex for them, which no
  // one here reads; without it the history writer stored 10-20% more rows
  // a second (tests/bench/history_rate, docs/benchmarks.md). Refused
  // harmlessly if sqlite was already initialised.
  [[maybe_unused]] static const int memory_statistics_off =
      sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  int flags =
      mode == Mode::ReadOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  flags |= SQLITE_OPEN_NOMUTEX;  // each handle is used under its owner's lock
  if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error(path + ": cannot open: " + why);
  }
  try {
    sqlite3_busy_timeout(db_, 5000);
    sqlite3_extended_result_codes(db_, 1);
    if (mode == Mode::ReadWrite) {
      // Before any table exists, so deleted rows give their pages back.
      exec("PRAGMA auto_vacuum = INCREMENTAL");
      exec("PRAGMA journal_mode = WAL");
      exec("PRAGMA synchronous = NORMAL");
      migrate();
    } else {
      schema_version();  // reads the header: a file that is not a database fails here
    }
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

Database::~Database() { sqlite3_close(db_); }

void Database::fail(const std::string& what) const {
  throw Error(path_ + ": " + what + ": " + sqlite3_errmsg(db_));
}

void Database::exec(std::string_view sql) {
  std::string text(sql);
  char* msg = nullptr;
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string why = msg ? msg : sqlite3_errmsg(db_);
    sqlite3_free(msg);
    throw Error(path_ + ": " + why);
  }
}

int Database::schema_version() {
  Statement s(*this, "PRAGMA user_version");
  s.step();
  return static_cast<int>(s.int_at(0));
}

std::uint64_t Database::used_bytes() {
  Statement pages(*this, "PRAGMA page_count");
  pages.step();
  Statement free_pages(*this, "PRAGMA freelist_count");
  free_pages.step();
  Statement size(*this, "PRAGMA page_size");
  size.step();
  return static_cast<std::uint64_t>(pages.int_at(0) - free_pages.int_at(0)) *
         static_cast<std::uint64_t>(size.int_at(0));
}

std::optional<std::uint64_t> Database::bytes_besides(const std::vector<std::string>& tables) {
  std::vector<std::string> others = {"sqlite_schema"};
  {
    Statement names(*this,
                    "SELECT name, tbl_name FROM sqlite_schema WHERE type IN ('table', 'index')");
    while (names.step())
      if (std::find(tables.begin(), tables.end(), names.text_at(1)) == tables.end())
        others.push_back(names.text_at(0));
  }
  std::uint64_t total = 0;
  try {
    // One b-tree at a time: dbstat then walks only that one.
    for (const auto& name : others) {
      Statement size(*this, "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name = ?1");
      size.bind(1, name);
      size.step();
      total += static_cast<std::uint64_t>(size.int_at(0));
    }
  } catch (const Error&) {
    return std::nullopt;  // built without SQLITE_ENABLE_DBSTAT_VTAB
  }
  return total;
}

void Database::migrate() {
  int version = schema_version();
  const auto& steps = migrations();
  if (version > static_cast<int>(steps.size()))
    throw Error(path_ + ": schema version " + std::to_string(version) +
                " is newer than this sluiced knows (" + std::to_string(steps.size()) +
                "); it was written by a later version");
  for (int v = version; v < static_cast<int>(steps.size()); ++v) {
    Transaction t(*this);
    exec(steps[static_cast<std::size_t>(v)]);
    exec("PRAGMA user_version = " + std::to_string(v + 1));
    t.commit();
  }
}

Statement::Statement(Database& db, std::string_view sql) : db_(db) {
  if (sqlite3_prepare_v2(db.handle(), sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr) !=
      SQLITE_OK)
    db.fail("preparing '" + std::string(sql.substr(0, 60)) + "'");
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::bind(int i, std::int64_t v) {
  if (sqlite3_bind_int64(stmt_, i, v) != SQLITE_OK) db_.fail("binding a number");
  return *this;
}

Statement& Statement::bind(int i, const std::string& v) {
  if (sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT) !=
      SQLITE_OK)
    db_.fail("binding text");
  return *this;
}

bool Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  db_.fail("running a statement");
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::int64_t Statement::int_at(int col) const { return sqlite3_column_int64(stmt_, col); }

std::string Statement::text_at(int col) const {
  const auto* p = sqlite3_column_text(stmt_, col);
  return p ? std::string(reinterpret_cast<const char*>(p),
                         static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)))
           : std::string();
}

Transaction::Transaction(Database& db, Kind kind) : db_(db) {
  db_.exec(kind == Kind::Write ? "BEGIN IMMEDIATE" : "BEGIN");
}

Transaction::~Transaction() {
  if (!done_) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
  db_.exec("COMMIT");
  done_ = true;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace sluice::store
