#include "auth/sign_in_limits.h"

#include "auth/credentials.h"

namespace sluice::auth {

namespace {
using Clock = std::chrono::steady_clock;
using WallClock = std::chrono::system_clock;
}  // namespace

void LoginLimiter::count(Record& r, Clock::time_point now) {
  if (r.failures == 0 || now - r.window_start > kWindow) r = Record{0, now};
  ++r.failures;
}

long LoginLimiter::begin(const std::string& source, bool trusted_device) {
  std::lock_guard lock(mutex_);
  auto now = Clock::now();
  auto wait = [&](const Record& r, int limit) -> long {
    if (r.failures < limit || now - r.window_start > kWindow) return 0;
    return std::chrono::duration_cast<std::chrono::seconds>(kWindow - (now - r.window_start))
               .count() +
           1;
  };
  auto it = records_.find(source);
  if (it != records_.end())
    if (long w = wait(it->second, kFailures)) return w;
  if (!trusted_device)
    if (long w = wait(global_, kGlobalFailures)) return w;
  count(records_[source], now);
  if (!trusted_device) count(global_, now);
  // Keep the table small: forget sources whose window has passed.
  if (records_.size() > 100000)
    for (auto r = records_.begin(); r != records_.end();)
      r = now - r->second.window_start > kWindow ? records_.erase(r) : std::next(r);
  return 0;
}

void LoginLimiter::abandon(const std::string& source, bool trusted_device) {
  std::lock_guard lock(mutex_);
  auto it = records_.find(source);
  if (it != records_.end() && it->second.failures > 0) --it->second.failures;
  if (!trusted_device && global_.failures > 0) --global_.failures;
}

void LoginLimiter::succeeded(const std::string& source) {
  std::lock_guard lock(mutex_);
  auto it = records_.find(source);
  if (it == records_.end()) return;
  // The success's own attempt leaves the global budget too.
  if (global_.failures > 0 && source.rfind("device ", 0) != 0) --global_.failures;
  records_.erase(it);
}

std::string TrustedDevices::issue(const std::string& user) {
  auto id = random_hex();
  std::lock_guard lock(mutex_);
  auto now = WallClock::now();
  if (devices_.size() >= kMax) {
    auto oldest = devices_.begin();
    for (auto it = devices_.begin(); it != devices_.end(); ++it)
      if (it->second.issued < oldest->second.issued) oldest = it;
    devices_.erase(oldest);
  }
  devices_[token_hash(id)] = Device{user, now};
  return id;
}

bool TrustedDevices::trusted(const std::string& id, const std::string& user) {
  if (id.empty()) return false;
  std::lock_guard lock(mutex_);
  auto it = devices_.find(token_hash(id));
  if (it == devices_.end()) return false;
  if (WallClock::now() - it->second.issued > kLifetime) {
    devices_.erase(it);
    return false;
  }
  return it->second.user == user;
}

}  // namespace sluice::auth
