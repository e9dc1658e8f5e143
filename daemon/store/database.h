// sqlite, the way sluice uses it: one file, WAL journal, a schema brought
// up to date by numbered migrations, RAII handles, errors that name the
// file and what sqlite said.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace sluice::store {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Database {
 public:
  enum class Mode { ReadWrite, ReadOnly };
  // Opens (ReadWrite: creating, and migrating to the current schema) the
  // database at path. Throws Error, e.g. for a file that is not a
  // database or a directory that cannot be written.
  Database(const std::string& path, Mode mode = Mode::ReadWrite);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs statements without results; throws Error.
  void exec(std::string_view sql);
  sqlite3* handle() const { return db_; }
  const std::string& path() const { return path_; }
  int schema_version();  // PRAGMA user_version
  // Bytes the tables and indexes use (pages in use, not free ones).
  std::uint64_t used_bytes();
  // Bytes the tables and indexes other than tables' (and their indexes')
  // use, by the dbstat table; nullopt where sqlite lacks it.
  std::optional<std::uint64_t> bytes_besides(const std::vector<std::string>& tables);

  [[noreturn]] void fail(const std::string& what) const;

 private:
  void migrate();

  std::string path_;
  sqlite3* db_ = nullptr;
};

// A prepared statement; bind by 1-based index, step, read columns.
class Statement {
 public:
  Statement(Database& db, std::string_view sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int i, std::int64_t v);
  Statement& bind(int i, const std::string& v);
  // True while a row is there; throws Error on failure.
  bool step();
  void reset();  // for the next bind/step round
  std::int64_t int_at(int col) const;
  std::string text_at(int col) const;

 private:
  Database& db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// BEGIN ... COMMIT, rolled back unless commit() is reached. A Write
// transaction takes the write lock at once (BEGIN IMMEDIATE); a Read one
// (BEGIN) is a snapshot for several statements, on any connection.
class Transaction {
 public:
  enum class Kind { Write, Read };
  explicit Transaction(Database& db, Kind kind = Kind::Write);
  ~Transaction();
  void commit();

 private:
  Database& db_;
  bool done_ = false;
};

// The schema version this build writes (and migrates older files to).
int current_schema_version();

// Now, as the tables record times: milliseconds since the epoch.
std::int64_t now_ms();

}  // namespace sluice::store
