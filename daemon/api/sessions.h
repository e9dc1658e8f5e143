// Signed-in browsers: server-side sessions (the cookie holds only a random
// id, so logout really ends them) each with its CSRF token, and the login
// rate limit per client address. Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace sluice::api {

struct Session {
  std::string user;
  std::string csrf;
  std::string password_hash;  // at sign-in: a changed or removed password ends the session
  std::chrono::steady_clock::time_point last_used;
};

class SessionTable {
 public:
  static constexpr auto kIdleLimit = std::chrono::hours(8);
  static constexpr std::size_t kMaxSessions = 10000;

  // A new session; returns its id.
  std::string open(const std::string& user, const std::string& password_hash);
  // The session with this id, refreshed, unless it is unknown or idle too long.
  std::optional<Session> use(const std::string& id);
  void close(const std::string& id);

 private:
  std::mutex mutex_;
  std::map<std::string, Session> sessions_;
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
