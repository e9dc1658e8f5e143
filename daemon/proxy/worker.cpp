#include "proxy/worker.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <system_error>

#include "proxy/sandbox.h"

namespace sluice::proxy {

namespace {

constexpr int kTickMs = 100;  // timers and handing records over
// Accepts per wakeup: enough to drain a burst, few enough that one worker
// does not take every new connection while the other waits.
constexpr int kAcceptBurst = 16;

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

void signal(int eventfd) {
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = write(eventfd, &one, sizeof one);
}

}  // namespace

Worker::Worker(Admission& admission, int ready) : admission_(admission), ready_(ready) {
  state_.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  wakeup_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (state_.epoll_fd < 0 || wakeup_ < 0) {
    int err = errno;
    if (state_.epoll_fd >= 0) close(state_.epoll_fd);
    throw std::system_error(err, std::generic_category(), "worker epoll");
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = &wakeup_io_;
  epoll_ctl(state_.epoll_fd, EPOLL_CTL_ADD, wakeup_, &ev);
  // The thread enters the sandbox itself, before its first event (after
  // the C library's thread set-up, whose calls the filter would refuse);
  // the constructor returns once it has, or throws what went wrong.
  // (Shared: the thread may still be inside set_value when get returns.)
  auto sandboxed = std::make_shared<std::promise<void>>();
  auto entered = sandboxed->get_future();
  thread_ = std::thread([this, sandboxed] {
    try {
      enter_sandbox();
    } catch (...) {
      sandboxed->set_exception(std::current_exception());
      return;
    }
    sandboxed->set_value();
    run();
  });
  try {
    entered.get();
  } catch (...) {
    thread_.join();
    close(wakeup_);
    close(state_.epoll_fd);
    throw;
  }
}

Worker::~Worker() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  signal(wakeup_);
  thread_.join();
  connections_.clear();
  close(wakeup_);
  close(state_.epoll_fd);
}

void Worker::post(std::shared_ptr<const WorkerConfig> config) {
  {
    std::lock_guard lock(mutex_);
    posted_ = std::move(config);
  }
  signal(wakeup_);
}

void Worker::collect(WorkerOutput& into) {
  std::lock_guard lock(mutex_);
  for (auto& r : output_.records) into.records.push_back(std::move(r));
  output_.records.clear();
  for (auto& [rule, c] : output_.counters) accumulate(into.counters[rule], c);
  output_.counters.clear();
}

void Worker::run() {
  try {
    epoll_event events[256];
    auto next_tick = Clock::now();
    while (true) {
      int n = epoll_wait(state_.epoll_fd, events, 256, kTickMs);
      if (n < 0 && errno != EINTR)
        throw std::system_error(errno, std::generic_category(), "epoll_wait");
      for (int i = 0; i < n; ++i) {
        auto* io = static_cast<IoHandle*>(events[i].data.ptr);
        switch (io->kind) {
          case IoHandle::Kind::Wakeup:
            on_wakeup();
            if (stop_) return;
            break;
          case IoHandle::Kind::Listener:
            if (io->owner) accept_from(static_cast<Listening*>(io->owner)->info.fd, io->slot);
            break;
          case IoHandle::Kind::Client:
          case IoHandle::Kind::Upstream: {
            // Taken first: a connection that parks its server connection
            // hands the handle (and its owner field) to the pool.
            auto* conn = static_cast<Connection*>(io->owner);
            if (io->kind == IoHandle::Kind::Client)
              conn->on_client(events[i].events);
            else
              conn->on_upstream(events[i].events);
            touched_.push_back(conn);
            break;
          }
          case IoHandle::Kind::Pooled:
            state_.pool.on_event(io, state_.retired);
            break;
          case IoHandle::Kind::Control:
            break;  // the coordinator's, never in a worker's epoll
        }
      }
      for (auto* conn : touched_) reap(conn);
      touched_.clear();
      state_.retired.clear();  // no event of this round is left to point at them
      if (Clock::now() >= next_tick) {
        tick();
        next_tick = Clock::now() + std::chrono::milliseconds(kTickMs);
      } else if (state_.records.size() >= kEarlyReport) {
        hand_over();
      }
    }
  } catch (const std::exception& e) {
    // A worker that cannot wait on its epoll cannot serve: end the process
    // (sluiced restarts it) rather than leave its connections hanging.
    std::fprintf(stderr, "sluice-proxy: worker: %s\n", e.what());
    std::_Exit(1);
  }
}

// A new configuration or the order to stop.
void Worker::on_wakeup() {
  std::uint64_t n;
  [[maybe_unused]] auto r = read(wakeup_, &n, sizeof n);
  std::shared_ptr<const WorkerConfig> config;
  {
    std::lock_guard lock(mutex_);
    if (stop_) return;
    config = std::move(posted_);
    posted_.reset();
  }
  if (config) apply(*config);
}

// The rules and limits now. Listeners no longer in the set leave this
// worker's epoll (the coordinator closes them once every worker has let go);
// connections of rules that are gone close as their next request finds no
// rule.
void Worker::apply(const WorkerConfig& config) {
  state_.limits = config.limits;
  state_.record_allowed = config.record_allowed;
  state_.rules = config.rules;
  for (auto it = listeners_.begin(); it != listeners_.end();) {
    bool kept = false;
    for (const auto& l : config.listeners) kept |= l.fd == it->info.fd;
    if (kept) {
      ++it;
      continue;
    }
    epoll_ctl(state_.epoll_fd, EPOLL_CTL_DEL, it->info.fd, nullptr);
    // An event of this round may still point at its handle: kept (without
    // an owner, so it is ignored) until the round ends.
    it->io->owner = nullptr;
    state_.retired.push_back(std::move(it->io));
    it = listeners_.erase(it);
  }
  for (const auto& l : config.listeners) {
    bool known = false;
    for (const auto& have : listeners_) known |= have.info.fd == l.fd;
    if (known) continue;
    Listening added{
        l, std::make_unique<IoHandle>(IoHandle{IoHandle::Kind::Listener, nullptr, l.slot})};
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    ev.data.ptr = added.io.get();
    epoll_ctl(state_.epoll_fd, EPOLL_CTL_ADD, l.fd, &ev);
    listeners_.push_back(std::move(added));
  }
  // The handles point at their entries: fix them after the vector moved.
  for (auto& l : listeners_) l.io->owner = &l;
  applied_.store(config.generation);
}

void Worker::accept_from(int listener, std::uint16_t slot) {
  for (int burst = 0; burst < kAcceptBurst; ++burst) {
    sockaddr_storage peer{}, local{};
    socklen_t plen = sizeof peer, llen = sizeof local;
    int fd =
        accept4(listener, reinterpret_cast<sockaddr*>(&peer), &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    getsockname(fd, reinterpret_cast<sockaddr*>(&local), &llen);
    bool loop = false;
    for (const auto& l : listeners_) loop |= same_address(l.info.address, local);
    auto conn = std::make_unique<Connection>(state_, fd, peer, local, slot);
    if (loop) {
      refuse(*conn, slot, "a connection to the proxy's own listener");
      continue;  // conn closes the socket
    }
    switch (admission_.admit(conn->client_address(), state_.limits.max_connections,
                             state_.limits.max_connections_per_source)) {
      case Admission::Verdict::Full:
        refuse(*conn, slot, "the proxy holds max_connections already");
        continue;
      case Admission::Verdict::SourceFull:
        refuse(*conn, slot, "this source holds max_connections_per_source already");
        continue;
      case Admission::Verdict::Admitted:
        break;
    }
    auto* raw = conn.get();
    connections_.emplace(raw, std::move(conn));
    active_.store(connections_.size());
    // The listener defers accepting until the client's first bytes
    // arrived: read them now rather than a round of epoll later.
    raw->on_client(EPOLLIN);
    touched_.push_back(raw);
  }
}

void Worker::refuse(const Connection& conn, std::uint16_t slot, const char* reason) {
  L7Record r;
  r.time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  r.slot = slot;
  if (auto it = state_.rules.find(slot); it != state_.rules.end()) r.rule = it->second->rule.name;
  r.verdict = "refused";
  r.kind = "tcp";
  r.client = conn.client_address();
  r.reason = reason;
  count(state_, r);
  state_.records.push_back(r);
}

// A connection that ended gives back its place. conn may have ended
// already this round (two events): then it is no longer in the map.
void Worker::reap(Connection* conn) {
  auto it = connections_.find(conn);
  if (it == connections_.end() || !it->second->finished()) return;
  admission_.release(it->second->client_address());
  connections_.erase(it);
  active_.store(connections_.size());
}

void Worker::tick() {
  auto now = Clock::now();
  for (auto& [raw, conn] : connections_) {
    conn->on_tick(now);
    touched_.push_back(raw);
  }
  for (auto* conn : touched_) reap(conn);
  touched_.clear();
  if (now >= next_expiry_) {
    state_.pool.expire(std::chrono::seconds(state_.limits.idle_timeout_seconds));
    next_expiry_ = now + std::chrono::seconds(1);
  }
  hand_over();
}

// Records and counters go to the coordinator, which reports them.
void Worker::hand_over() {
  if (state_.records.empty() && state_.counters.empty()) return;
  bool many = state_.records.size() >= kEarlyReport;
  {
    std::lock_guard lock(mutex_);
    for (auto& r : state_.records)
      if (output_.records.size() < kMaxWaiting) output_.records.push_back(std::move(r));
    for (auto& [rule, c] : state_.counters) accumulate(output_.counters[rule], c);
  }
  state_.records.clear();
  state_.counters.clear();
  if (many) signal(ready_);
}

}  // namespace sluice::proxy
