// Signed-in browsers: server-side sessions (the cookie holds only a random
// id, so logout really ends them) each with its CSRF token. Thread-safe. Sessions are kept in the
// state database too (a hash of the id, never the id), so a restart of
// the daemon signs nobody out.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace sluice::store {
class StateStore;
}

namespace sluice::auth {

struct Session {
  std::string user;
  std::string csrf;
  std::string password_hash;  // at sign-in: a changed or removed password ends the session
  std::chrono::system_clock::time_point last_used;
  std::chrono::system_clock::time_point last_saved;  // last_used as the database has it
  std::chrono::system_clock::time_point created;     // the sign-in
};

class SessionTable {
 public:
  static constexpr auto kIdleLimit = std::chrono::hours(8);
  // However active, a session ends this long after its sign-in.
  static constexpr auto kAbsoluteLimit = std::chrono::hours(24);
  static constexpr std::size_t kMaxSessions = 10000;
  // How stale the database's last_used may get: a write per request would
  // be a write per click; a restart may then shorten an idle limit by this.
  static constexpr auto kSaveEvery = std::chrono::minutes(1);

  // store: where sessions are kept across restarts (nullptr: in memory
  // only). Sessions stored there and not yet idle too long are taken up.
  explicit SessionTable(store::StateStore* store = nullptr);

  // A new session; returns its id.
  std::string open(const std::string& user, const std::string& password_hash);
  // The session with this id, refreshed, unless it is unknown, idle too
  // long or too old.
  std::optional<Session> use(const std::string& id);
  // The same without refreshing it: whether a live stream may go on.
  std::optional<Session> peek(const std::string& id);
  void close(const std::string& id);

 private:
  // Forgets a session, here and in the store.
  void forget(std::map<std::string, Session>::iterator it);
  // The live session under this id hash (expired ones are forgotten).
  std::map<std::string, Session>::iterator find_live(const std::string& id);
  static bool expired(const Session& s, std::chrono::system_clock::time_point now);

  store::StateStore* store_;
  std::mutex mutex_;
  std::map<std::string, Session> sessions_;  // by the hash of the id
};

}  // namespace sluice::auth
