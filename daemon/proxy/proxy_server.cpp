#include "proxy/proxy_server.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace sluice::proxy {

namespace {

constexpr int kTickMs = 100;  // timers and record reports

bool same_address(const sockaddr_storage& a, const sockaddr_storage& b) {
  if (a.ss_family != b.ss_family) return false;
  if (a.ss_family == AF_INET) {
    const auto &x = reinterpret_cast<const sockaddr_in&>(a),
               &y = reinterpret_cast<const sockaddr_in&>(b);
    return x.sin_port == y.sin_port && x.sin_addr.s_addr == y.sin_addr.s_addr;
  }
  const auto &x = reinterpret_cast<const sockaddr_in6&>(a),
             &y = reinterpret_cast<const sockaddr_in6&>(b);
  return x.sin6_port == y.sin6_port && std::memcmp(&x.sin6_addr, &y.sin6_addr, 16) == 0;
}

}  // namespace

ProxyServer::ProxyServer(int control) : control_(control) {
  state_.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (state_.epoll_fd < 0) throw std::system_error(errno, std::generic_category(), "epoll");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = &control_io_;
  epoll_ctl(state_.epoll_fd, EPOLL_CTL_ADD, control_, &ev);
}

ProxyServer::~ProxyServer() {
  connections_.clear();
  for (auto& l : listeners_) close(l.fd);
  close(state_.epoll_fd);
}

void ProxyServer::run() {
  epoll_event events[256];
  auto next_tick = Clock::now();
  while (true) {
    int n = epoll_wait(state_.epoll_fd, events, 256, kTickMs);
    if (n < 0 && errno != EINTR)
      throw std::system_error(errno, std::generic_category(), "epoll_wait");
    for (int i = 0; i < n; ++i) {
      auto* io = static_cast<IoHandle*>(events[i].data.ptr);
      switch (io->kind) {
        case IoHandle::Kind::Control:
          on_control();
          if (control_ < 0) return;
          break;
        case IoHandle::Kind::Listener:
          accept_from(static_cast<Listener*>(io->owner)->fd, io->slot);
          break;
        case IoHandle::Kind::Client:
          static_cast<Connection*>(io->owner)->on_client(events[i].events);
          break;
        case IoHandle::Kind::Upstream:
          static_cast<Connection*>(io->owner)->on_upstream(events[i].events);
          break;
      }
    }
    reap();
    if (Clock::now() >= next_tick) {
      tick();
      next_tick = Clock::now() + std::chrono::milliseconds(kTickMs);
    }
    if (state_.records.size() >= 512) report();
  }
}

void ProxyServer::on_control() {
  std::string text;
  std::vector<int> fds;
  if (!receive_message(control_, text, fds)) {
    control_ = -1;  // sluiced is gone: so is the proxy
    return;
  }
  try {
    apply(decode_config(text), std::move(fds));
  } catch (const std::invalid_argument&) {
    for (int fd : fds) close(fd);
    throw;
  }
}

// The rules and limits now; listeners of rules that are gone close (their
// connections close as their next request finds no rule).
void ProxyServer::apply(ProxyConfig config, std::vector<int> fds) {
  if (fds.size() != config.listeners.size())
    throw std::invalid_argument("listeners and their fds do not match");
  state_.limits = config.limits;
  state_.record_allowed = config.record_allowed;
  std::map<std::uint16_t, std::shared_ptr<const ActiveRule>> rules;
  for (auto& r : config.rules) {
    auto slot = r.slot;
    rules[slot] = std::make_shared<const ActiveRule>(std::move(r));
  }
  state_.rules = std::move(rules);
  for (auto it = listeners_.begin(); it != listeners_.end();) {
    if (state_.rules.count(it->slot)) {
      ++it;
      continue;
    }
    close(it->fd);
    it = listeners_.erase(it);
  }
  for (std::size_t i = 0; i < fds.size(); ++i) {
    Listener l;
    l.fd = fds[i];
    l.slot = config.listeners[i].slot;
    socklen_t len = sizeof l.address;
    getsockname(l.fd, reinterpret_cast<sockaddr*>(&l.address), &len);
    l.io = std::make_unique<IoHandle>(IoHandle{IoHandle::Kind::Listener, nullptr, l.slot});
    listeners_.push_back(std::move(l));
    auto& added = listeners_.back();
    added.io->owner = &added;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = added.io.get();
    epoll_ctl(state_.epoll_fd, EPOLL_CTL_ADD, added.fd, &ev);
  }
  // Listener owners point into the vector: fix them after it moved.
  for (auto& l : listeners_) l.io->owner = &l;
  configured_ = true;
}

void ProxyServer::accept_from(int listener, std::uint16_t slot) {
  for (int burst = 0; burst < 64; ++burst) {
    sockaddr_storage peer{}, local{};
    socklen_t plen = sizeof peer, llen = sizeof local;
    int fd =
        accept4(listener, reinterpret_cast<sockaddr*>(&peer), &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    getsockname(fd, reinterpret_cast<sockaddr*>(&local), &llen);
    bool loop = false;
    for (const auto& l : listeners_) loop |= same_address(l.address, local);
    auto conn = std::make_unique<Connection>(state_, fd, peer, local, slot);
    auto& count = per_source_[conn->client_address()];
    if (loop || connections_.size() >= state_.limits.max_connections ||
        count >= state_.limits.max_connections_per_source) {
      L7Record r;
      r.time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
      r.slot = slot;
      if (auto it = state_.rules.find(slot); it != state_.rules.end())
        r.rule = it->second->rule.name;
      r.verdict = "refused";
      r.kind = "tcp";
      r.client = conn->client_address();
      r.reason = loop ? "a connection to the proxy's own listener"
                 : connections_.size() >= state_.limits.max_connections
                     ? "the proxy holds max_connections already"
                     : "this source holds max_connections_per_source already";
      proxy::count(state_, r);
      state_.records.push_back(r);
      if (count == 0) per_source_.erase(conn->client_address());
      continue;  // conn closes the socket
    }
    ++count;
    auto* raw = conn.get();
    connections_.emplace(raw, std::move(conn));
  }
}

// Connections that ended give back their place.
void ProxyServer::reap() {
  for (auto it = connections_.begin(); it != connections_.end();) {
    if (!it->second->finished()) {
      ++it;
      continue;
    }
    auto source = per_source_.find(it->second->client_address());
    if (source != per_source_.end() && --source->second == 0) per_source_.erase(source);
    it = connections_.erase(it);
  }
}

void ProxyServer::tick() {
  auto now = Clock::now();
  for (auto& [raw, conn] : connections_) conn->on_tick(now);
  if (now >= next_expiry_) {
    state_.pool.expire(std::chrono::seconds(state_.limits.idle_timeout_seconds));
    next_expiry_ = now + std::chrono::seconds(1);
  }
  reap();
  report();
}

// Records go to sluiced in batches; when its socket is full they are
// dropped rather than stall the proxy (sluiced counts what it got).
void ProxyServer::report() {
  if (state_.records.empty() && !configured_) return;
  ProxyReport r;
  r.records = std::move(state_.records);
  state_.records.clear();
  for (auto& [rule, c] : state_.counters) r.counters.push_back(std::move(c));
  state_.counters.clear();
  r.active_connections = connections_.size();
  try {
    send_message(control_, encode(r));
  } catch (const std::system_error&) {
  }
}

}  // namespace sluice::proxy
