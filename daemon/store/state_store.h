// sluiced's small, precious state in sqlite: every applied config version
// (who, when, the text and its diff), the audit log of state changes, and
// the API's users and tokens. Thread-safe: the daemon loop and API threads
// share it. Writes are synchronous; they are rare.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace sluice::store {

class Database;

struct ConfigVersion {
  std::uint64_t id = 0;
  std::int64_t time_ms = 0;
  std::string author;
  std::string path;
  std::string diff;  // what changed from the version before, one change per line
  std::string text;  // filled by config_version(id) only
};

struct AuditEntry {
  std::uint64_t id = 0;
  std::int64_t time_ms = 0;
  std::string who;
  std::string what;
  std::string detail;
};

struct NamedSecret {
  std::string name;
  std::int64_t created_ms = 0;
};

// A web UI sign-in as kept across restarts (see api::SessionTable).
struct StoredSession {
  std::string id_hash;
  std::string user;
  std::string csrf;
  std::string password_hash;  // the user's at sign-in
  std::int64_t last_used_ms = 0;
  std::int64_t created_ms = 0;  // the sign-in
};

// An apply that must be confirmed by deadline_ms (wall clock) or be rolled
// back to restore_text.
struct StoredPendingConfirm {
  std::int64_t deadline_ms = 0;
  std::string restore_text;
};

// How much history is kept, each on its own (the flow history in the same
// file has its own size limit and counts only flows).
struct StateLimits {
  std::size_t max_config_versions = 500;
  std::uint64_t max_config_bytes = 128ull << 20;  // texts and diffs together
  std::size_t max_audit_entries = 100000;
};

class StateStore {
 public:
  // Opens (creating, migrating) the database at path. Throws store::Error.
  explicit StateStore(const std::string& path, StateLimits limits = {});
  ~StateStore();

  std::uint64_t add_config_version(const std::string& author, const std::string& path,
                                   const std::string& text, const std::string& diff);
  std::vector<ConfigVersion> config_versions(
      std::size_t limit) const;  // newest first, without text
  std::optional<ConfigVersion> config_version(std::uint64_t id) const;

  void audit(const std::string& who, const std::string& what, const std::string& detail);
  std::vector<AuditEntry> audit_entries(std::size_t limit) const;  // newest first

  // Users: name -> argon2id hash (made by the caller). Adding an existing
  // name replaces its password.
  void set_user(const std::string& name, const std::string& password_hash);
  bool remove_user(const std::string& name);
  std::optional<std::string> password_hash(const std::string& name) const;
  std::vector<NamedSecret> users() const;

  // Read-only API tokens, by name and hash. False when the name is taken.
  bool add_token(const std::string& name, const std::string& token_hash);
  bool remove_token(const std::string& name);
  std::optional<std::string> token_name(const std::string& token_hash) const;
  std::vector<NamedSecret> tokens() const;

  // Sessions: saved at sign-in, touched now and then, removed at sign-out
  // or expiry.
  void save_session(const StoredSession& s);
  void touch_session(const std::string& id_hash, std::int64_t last_used_ms);
  void remove_session(const std::string& id_hash);
  std::vector<StoredSession> sessions() const;

  // The apply awaiting confirmation, if any (replaced by the next).
  void save_pending_confirm(const StoredPendingConfirm& p);
  void clear_pending_confirm();
  std::optional<StoredPendingConfirm> pending_confirm() const;

 private:
  // Drops the oldest versions and audit entries beyond the limits.
  void trim_config_versions();
  void trim_audit_log();
  StateLimits limits_;
  mutable std::mutex mutex_;
  std::unique_ptr<Database> db_;
};

}  // namespace sluice::store
