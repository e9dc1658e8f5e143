#include "store/state_store.h"

#include <sqlite3.h>

#include <chrono>

#include "store/database.h"

namespace sluice::store {

namespace {

std::vector<NamedSecret> named(Database& db, const char* sql) {
  std::vector<NamedSecret> out;
  Statement s(db, sql);
  while (s.step()) out.push_back({s.text_at(0), s.int_at(1)});
  return out;
}

}  // namespace

StateStore::StateStore(const std::string& path, StateLimits limits)
    : limits_(limits), db_(std::make_unique<Database>(path)) {}

void StateStore::trim_config_versions() {
  // The newest first, until either limit is reached; the newest one (the
  // live ruleset) always stays.
  std::int64_t keep_from = 0;
  std::uint64_t bytes = 0;
  std::size_t n = 0;
  Statement s(*db_,
              "SELECT id, length(CAST(text AS BLOB)) + length(CAST(diff AS BLOB)) FROM "
              "config_versions ORDER BY id DESC");
  while (s.step()) {
    bytes += static_cast<std::uint64_t>(s.int_at(1));
    if (n > 0 && (n >= limits_.max_config_versions || bytes > limits_.max_config_bytes)) break;
    keep_from = s.int_at(0);
    ++n;
  }
  Statement del(*db_, "DELETE FROM config_versions WHERE id < ?1");
  del.bind(1, keep_from);
  del.step();
}

void StateStore::trim_audit_log() {
  Statement del(*db_, "DELETE FROM audit_log WHERE id <= (SELECT max(id) FROM audit_log) - ?1");
  del.bind(1, static_cast<std::int64_t>(limits_.max_audit_entries));
  del.step();
}
StateStore::~StateStore() = default;

std::uint64_t StateStore::add_config_version(const std::string& author, const std::string& path,
                                             const std::string& text, const std::string& diff) {
  std::lock_guard lock(mutex_);
  Statement s(*db_,
              "INSERT INTO config_versions (time_ms, author, path, text, diff) VALUES (?1, ?2, ?3, "
              "?4, ?5)");
  s.bind(1, now_ms()).bind(2, author).bind(3, path).bind(4, text).bind(5, diff);
  s.step();
  auto id = static_cast<std::uint64_t>(sqlite3_last_insert_rowid(db_->handle()));
  trim_config_versions();
  return id;
}

std::vector<ConfigVersion> StateStore::config_versions(std::size_t limit) const {
  std::lock_guard lock(mutex_);
  std::vector<ConfigVersion> out;
  Statement s(
      *db_,
      "SELECT id, time_ms, author, path, diff FROM config_versions ORDER BY id DESC LIMIT ?1");
  s.bind(1, static_cast<std::int64_t>(limit));
  while (s.step())
    out.push_back({static_cast<std::uint64_t>(s.int_at(0)),
                   s.int_at(1),
                   s.text_at(2),
                   s.text_at(3),
                   s.text_at(4),
                   {}});
  return out;
}

std::optional<ConfigVersion> StateStore::config_version(std::uint64_t id) const {
  std::lock_guard lock(mutex_);
  Statement s(*db_,
              "SELECT id, time_ms, author, path, diff, text FROM config_versions WHERE id = ?1");
  s.bind(1, static_cast<std::int64_t>(id));
  if (!s.step()) return std::nullopt;
  return ConfigVersion{static_cast<std::uint64_t>(s.int_at(0)),
                       s.int_at(1),
                       s.text_at(2),
                       s.text_at(3),
                       s.text_at(4),
                       s.text_at(5)};
}

void StateStore::audit(const std::string& who, const std::string& what, const std::string& detail) {
  std::lock_guard lock(mutex_);
  Statement s(*db_, "INSERT INTO audit_log (time_ms, who, what, detail) VALUES (?1, ?2, ?3, ?4)");
  s.bind(1, now_ms()).bind(2, who).bind(3, what).bind(4, detail);
  s.step();
  trim_audit_log();
}

std::vector<AuditEntry> StateStore::audit_entries(std::size_t limit) const {
  std::lock_guard lock(mutex_);
  std::vector<AuditEntry> out;
  Statement s(*db_,
              "SELECT id, time_ms, who, what, detail FROM audit_log ORDER BY id DESC LIMIT ?1");
  s.bind(1, static_cast<std::int64_t>(limit));
  while (s.step())
    out.push_back({static_cast<std::uint64_t>(s.int_at(0)), s.int_at(1), s.text_at(2), s.text_at(3),
                   s.text_at(4)});
  return out;
}

void StateStore::set_user(const std::string& name, const std::string& password_hash) {
  std::lock_guard lock(mutex_);
  Statement s(*db_,
              "INSERT INTO users (name, password_hash, created_ms) VALUES (?1, ?2, ?3) "
              "ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash");
  s.bind(1, name).bind(2, password_hash).bind(3, now_ms());
  s.step();
}

bool StateStore::remove_user(const std::string& name) {
  std::lock_guard lock(mutex_);
  Statement s(*db_, "DELETE FROM users WHERE name = ?1");
  s.bind(1, name);
  s.step();
  return sqlite3_changes(db_->handle()) > 0;
}

std::optional<std::string> StateStore::password_hash(const std::string& name) const {
  std::lock_guard lock(mutex_);
  Statement s(*db_, "SELECT password_hash FROM users WHERE name = ?1");
  s.bind(1, name);
  if (!s.step()) return std::nullopt;
  return s.text_at(0);
}

std::vector<NamedSecret> StateStore::users() const {
  std::lock_guard lock(mutex_);
  return named(*db_, "SELECT name, created_ms FROM users ORDER BY name");
}

bool StateStore::add_token(const std::string& name, const std::string& token_hash) {
  std::lock_guard lock(mutex_);
  Statement s(
      *db_, "INSERT OR IGNORE INTO api_tokens (name, token_hash, created_ms) VALUES (?1, ?2, ?3)");
  s.bind(1, name).bind(2, token_hash).bind(3, now_ms());
  s.step();
  return sqlite3_changes(db_->handle()) > 0;
}

bool StateStore::remove_token(const std::string& name) {
  std::lock_guard lock(mutex_);
  Statement s(*db_, "DELETE FROM api_tokens WHERE name = ?1");
  s.bind(1, name);
  s.step();
  return sqlite3_changes(db_->handle()) > 0;
}

std::optional<std::string> StateStore::token_name(const std::string& token_hash) const {
  std::lock_guard lock(mutex_);
  Statement s(*db_, "SELECT name FROM api_tokens WHERE token_hash = ?1");
  s.bind(1, token_hash);
  if (!s.step()) return std::nullopt;
  return s.text_at(0);
}

std::vector<NamedSecret> StateStore::tokens() const {
  std::lock_guard lock(mutex_);
  return named(*db_, "SELECT name, created_ms FROM api_tokens ORDER BY name");
}

void StateStore::save_session(const StoredSession& st) {
  std::lock_guard lock(mutex_);
  Statement s(*db_,
              "INSERT OR REPLACE INTO sessions (id_hash, user, csrf, password_hash, last_used_ms, "
              "created_ms) "
              "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  s.bind(1, st.id_hash)
      .bind(2, st.user)
      .bind(3, st.csrf)
      .bind(4, st.password_hash)
      .bind(5, st.last_used_ms);
  s.bind(6, st.created_ms);
  s.step();
}

void StateStore::touch_session(const std::string& id_hash, std::int64_t last_used_ms) {
  std::lock_guard lock(mutex_);
  Statement s(*db_, "UPDATE sessions SET last_used_ms = ?2 WHERE id_hash = ?1");
  s.bind(1, id_hash).bind(2, last_used_ms);
  s.step();
}

void StateStore::remove_session(const std::string& id_hash) {
  std::lock_guard lock(mutex_);
  Statement s(*db_, "DELETE FROM sessions WHERE id_hash = ?1");
  s.bind(1, id_hash);
  s.step();
}

std::vector<StoredSession> StateStore::sessions() const {
  std::lock_guard lock(mutex_);
  Statement s(*db_,
              "SELECT id_hash, user, csrf, password_hash, last_used_ms, created_ms FROM sessions");
  std::vector<StoredSession> out;
  while (s.step())
    out.push_back(
        {s.text_at(0), s.text_at(1), s.text_at(2), s.text_at(3), s.int_at(4), s.int_at(5)});
  return out;
}

void StateStore::save_pending_confirm(const StoredPendingConfirm& p) {
  std::lock_guard lock(mutex_);
  Statement s(
      *db_,
      "INSERT OR REPLACE INTO pending_confirm (id, deadline_ms, restore_text) VALUES (1, ?1, ?2)");
  s.bind(1, p.deadline_ms).bind(2, p.restore_text);
  s.step();
}

void StateStore::clear_pending_confirm() {
  std::lock_guard lock(mutex_);
  Statement s(*db_, "DELETE FROM pending_confirm");
  s.step();
}

std::optional<StoredPendingConfirm> StateStore::pending_confirm() const {
  std::lock_guard lock(mutex_);
  Statement s(*db_, "SELECT deadline_ms, restore_text FROM pending_confirm WHERE id = 1");
  if (!s.step()) return std::nullopt;
  return StoredPendingConfirm{s.int_at(0), s.text_at(1)};
}

}  // namespace sluice::store
