#include "auth/sessions.h"

#include "auth/credentials.h"
#include "store/database.h"
#include "store/state_store.h"

namespace sluice::auth {

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
      WallClock::time_point created{std::chrono::milliseconds(st.created_ms)};
      Session session{st.user, st.csrf, st.password_hash, used, used, created};
      if (expired(session, now)) {
        store_->remove_session(st.id_hash);
        continue;
      }
      sessions_[st.id_hash] = std::move(session);
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
      if (expired(it->second, now)) forget(it);
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
  Session session{user, random_hex(), password_hash, now, now, now};
  keep(store_, [&](store::StateStore& s) {
    s.save_session(
        {key, session.user, session.csrf, session.password_hash, ms_of(now), ms_of(now)});
  });
  sessions_[key] = std::move(session);
  return id;
}

bool SessionTable::expired(const Session& s, WallClock::time_point now) {
  return now - s.last_used > kIdleLimit || now - s.created > kAbsoluteLimit;
}

std::map<std::string, Session>::iterator SessionTable::find_live(const std::string& id) {
  auto it = sessions_.find(token_hash(id));
  if (it == sessions_.end()) return it;
  if (!expired(it->second, WallClock::now())) return it;
  forget(it);
  return sessions_.end();
}

std::optional<Session> SessionTable::peek(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto it = find_live(id);
  if (it == sessions_.end()) return std::nullopt;
  return it->second;
}

std::optional<Session> SessionTable::use(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto it = find_live(id);
  if (it == sessions_.end()) return std::nullopt;
  auto now = WallClock::now();
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

}  // namespace sluice::auth
