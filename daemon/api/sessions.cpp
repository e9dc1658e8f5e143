#include "api/sessions.h"

#include "api/credentials.h"

namespace sluice::api {

namespace {
using Clock = std::chrono::steady_clock;
}

std::string SessionTable::open(const std::string& user, const std::string& password_hash) {
  auto id = random_hex();
  std::lock_guard lock(mutex_);
  auto now = Clock::now();
  // Past the limit, forget idle sessions; if none are idle, the oldest.
  if (sessions_.size() >= kMaxSessions) {
    for (auto it = sessions_.begin(); it != sessions_.end();)
      it = now - it->second.last_used > kIdleLimit ? sessions_.erase(it) : std::next(it);
    if (sessions_.size() >= kMaxSessions) {
      auto oldest = sessions_.begin();
      for (auto it = sessions_.begin(); it != sessions_.end(); ++it)
        if (it->second.last_used < oldest->second.last_used) oldest = it;
      sessions_.erase(oldest);
    }
  }
  sessions_[id] = Session{user, random_hex(), password_hash, now};
  return id;
}

std::optional<Session> SessionTable::use(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return std::nullopt;
  auto now = Clock::now();
  if (now - it->second.last_used > kIdleLimit) {
    sessions_.erase(it);
    return std::nullopt;
  }
  it->second.last_used = now;
  return it->second;
}

void SessionTable::close(const std::string& id) {
  std::lock_guard lock(mutex_);
  sessions_.erase(id);
}

long LoginLimiter::retry_after(const std::string& address) {
  std::lock_guard lock(mutex_);
  auto it = records_.find(address);
  if (it == records_.end() || it->second.failures < kFailures) return 0;
  auto left = kWindow - (Clock::now() - it->second.window_start);
  if (left <= Clock::duration::zero()) {
    records_.erase(it);
    return 0;
  }
  return std::chrono::duration_cast<std::chrono::seconds>(left).count() + 1;
}

void LoginLimiter::failed(const std::string& address) {
  std::lock_guard lock(mutex_);
  auto now = Clock::now();
  auto& r = records_[address];
  if (r.failures == 0 || now - r.window_start > kWindow) r = Record{0, now};
  ++r.failures;
  // Keep the table small: forget addresses whose window has passed.
  if (records_.size() > 100000)
    for (auto it = records_.begin(); it != records_.end();)
      it = now - it->second.window_start > kWindow ? records_.erase(it) : std::next(it);
}

void LoginLimiter::succeeded(const std::string& address) {
  std::lock_guard lock(mutex_);
  records_.erase(address);
}

}  // namespace sluice::api
