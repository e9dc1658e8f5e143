// How often sign-ins may be tried, and the browsers that signed in
// before and are limited on their own. Thread-safe; kept in memory.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>

namespace sluice::auth {

// Sign-in attempts, counted as they begin (so attempts still being checked
// count too) and forgiven when one succeeds: at most kFailures per source
// within kWindow, then refused until the window has passed. A source is a
// client address group (api::address_group()) or a trusted device (below).
// Sources that are not trusted devices also share a global budget of
// kGlobalFailures per kWindow, so many addresses cannot guess faster.
class LoginLimiter {
 public:
  static constexpr int kFailures = 5;
  static constexpr int kGlobalFailures = 100;
  static constexpr auto kWindow = std::chrono::seconds(60);

  // Seconds to wait before trying again, or 0: go ahead, the attempt is
  // counted now.
  long begin(const std::string& source, bool trusted_device);
  // An attempt that was counted but not checked (the server was busy).
  void abandon(const std::string& source, bool trusted_device);
  void succeeded(const std::string& source);

 private:
  struct Record {
    int failures = 0;
    std::chrono::steady_clock::time_point window_start;
  };
  static void count(Record& r, std::chrono::steady_clock::time_point now);
  std::mutex mutex_;
  std::map<std::string, Record> records_;
  Record global_;
};

// Browsers that signed in before, by a long-lived cookie naming a user
// (only its hash is kept, in memory): their sign-ins are limited on their
// own and not by their address, so a neighbour on the same address (or
// another local user of 127.0.0.1) cannot lock the admin out by failing
// on purpose.
class TrustedDevices {
 public:
  static constexpr std::size_t kMax = 10000;
  static constexpr auto kLifetime = std::chrono::hours(24 * 30);

  // A new device id for this user (the cookie's value).
  std::string issue(const std::string& user);
  // Whether id is a live device of user.
  bool trusted(const std::string& id, const std::string& user);

 private:
  struct Device {
    std::string user;
    std::chrono::system_clock::time_point issued;
  };
  std::mutex mutex_;
  std::map<std::string, Device> devices_;  // by the hash of the id
};

}  // namespace sluice::auth
