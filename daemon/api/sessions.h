// Signed-in browsers: server-side sessions (the cookie holds only a random
// id, so logout really ends them) each with its CSRF token, and the login
// rate limit per client address. Thread-safe. Sessions are kept in the
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

namespace sluice::api {

struct Session {
  std::string user;
  std::string csrf;
  std::string password_hash;  // at sign-in: a changed or removed password ends the session
  std::chrono::system_clock::time_point last_used;
  std::chrono::system_clock::time_point last_saved;  // last_used as the database has it
};

class SessionTable {
 public:
  static constexpr auto kIdleLimit = std::chrono::hours(8);
  static constexpr std::size_t kMaxSessions = 10000;
  // How stale the database's last_used may get: a write per request would
  // be a write per click; a restart may then shorten an idle limit by this.
  static constexpr auto kSaveEvery = std::chrono::minutes(1);

  // store: where sessions are kept across restarts (nullptr: in memory
  // only). Sessions stored there and not yet idle too long are taken up.
  explicit SessionTable(store::StateStore* store = nullptr);

  // A new session; returns its id.
  std::string open(const std::string& user, const std::string& password_hash);
  // The session with this id, refreshed, unless it is unknown or idle too long.
  std::optional<Session> use(const std::string& id);
  void close(const std::string& id);

 private:
  // Forgets a session, here and in the store.
  void forget(std::map<std::string, Session>::iterator it);

  store::StateStore* store_;
  std::mutex mutex_;
  std::map<std::string, Session> sessions_;  // by the hash of the id
};

// At most kFailures failed sign-ins per address within kWindow; then
// refused until the window has passed.
class LoginLimiter {
 public:
  static constexpr int kFailures = 5;
  static constexpr auto kWindow = std::chrono::seconds(60);

  // Seconds to wait before trying again; 0 when a try is allowed.
  long retry_after(const std::string& address);
  void failed(const std::string& address);
  void succeeded(const std::string& address);

 private:
  struct Record {
    int failures = 0;
    std::chrono::steady_clock::time_point window_start;
  };
  std::mutex mutex_;
  std::map<std::string, Record> records_;
};

}  // namespace sluice::api
