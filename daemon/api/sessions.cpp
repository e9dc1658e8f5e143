#include "api/sessions.h"

#include "api/credentials.h"
#include "store/database.h"
#include "store/state_store.h"

namespace sluice::api {

namespace {
using Clock = std::chrono::steady_clock;
using WallClock = std::chrono::system_clock;

std::int64_t ms_of(WallClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// The store must not take the API down: a session it failed to keep
// still works until the daemon restarts.
template <typename F>
void keep(store::StateStore* store, F&& f) {
  if (!store) return;
  try {
    f(*store);
  } catch (const store::Error&) {
  }
}
}  // namespace

SessionTable::SessionTable(store::StateStore* store) : store_(store) {
  if (!store_) return;
  auto now = WallClock::now();
  try {
    for (const auto& st : store_->sessions()) {
      WallClock::time_point used{std::chrono::milliseconds(st.last_used_ms)};
      if (now - used > kIdleLimit) {
        store_->remove_session(st.id_hash);
        continue;
      }
      sessions_[st.id_hash] = Session{st.user, st.csrf, st.password_hash, used, used};
    }
  } catch (const store::Error&) {
  }
}

void SessionTable::forget(std::map<std::string, Session>::iterator it) {
  keep(store_, [&](store::StateStore& s) { s.remove_session(it->first); });
  sessions_.erase(it);
}

std::string SessionTable::open(const std::string& user, const std::string& password_hash) {
  auto id = random_hex();
  std::lock_guard lock(mutex_);
  auto now = WallClock::now();
  // Past the limit, forget idle sessions; if none are idle, the oldest.
  if (sessions_.size() >= kMaxSessions) {
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      auto next = std::next(it);
      if (now - it->second.last_used > kIdleLimit) forget(it);
      it = next;
    }
    if (sessions_.size() >= kMaxSessions) {
      auto oldest = sessions_.begin();
      for (auto it = sessions_.begin(); it != sessions_.end(); ++it)
        if (it->second.last_used < oldest->second.last_used) oldest = it;
      forget(oldest);
    }
  }
  auto key = token_hash(id);
  Session session{user, random_hex(), password_hash, now, now};
  keep(store_, [&](store::StateStore& s) {
    s.save_session({key, session.user, session.csrf, session.password_hash, ms_of(now)});
  });
  sessions_[key] = std::move(session);
  return id;
}

std::optional<Session> SessionTable::use(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(token_hash(id));
  if (it == sessions_.end()) return std::nullopt;
  auto now = WallClock::now();
  if (now - it->second.last_used > kIdleLimit) {
    forget(it);
    return std::nullopt;
  }
  it->second.last_used = now;
  if (now - it->second.last_saved > kSaveEvery) {
    keep(store_, [&](store::StateStore& s) { s.touch_session(it->first, ms_of(now)); });
    it->second.last_saved = now;
  }
  return it->second;
}

void SessionTable::close(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(token_hash(id));
  if (it != sessions_.end()) forget(it);
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
