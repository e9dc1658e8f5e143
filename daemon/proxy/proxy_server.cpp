#include "proxy/proxy_server.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <iterator>
#include <stdexcept>
#include <system_error>

namespace sluice::proxy {

namespace {

constexpr int kReportMs = 100;

}  // namespace

ProxyServer::ProxyServer(int control, unsigned workers) : control_(control) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  ready_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || ready_ < 0) throw std::system_error(errno, std::generic_category(), "epoll");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = &control_io_;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, control_, &ev);
  ev.data.ptr = &ready_io_;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, ready_, &ev);
  for (unsigned i = 0; i < std::max(1u, workers); ++i)
    workers_.push_back(std::make_unique<Worker>(admission_, ready_));
}

ProxyServer::~ProxyServer() {
  workers_.clear();  // joins them: nobody waits on a listener any more
  for (auto& l : listeners_) close(l.fd);
  for (auto& [generation, fd] : retired_) close(fd);
  close(ready_);
  close(epoll_fd_);
}

void ProxyServer::run() {
  epoll_event events[8];
  auto next_report = std::chrono::steady_clock::now();
  while (true) {
    int n = epoll_wait(epoll_fd_, events, 8, kReportMs);
    if (n < 0 && errno != EINTR)
      throw std::system_error(errno, std::generic_category(), "epoll_wait");
    bool early = false;
    for (int i = 0; i < n; ++i) {
      if (events[i].data.ptr == &control_io_) {
        on_control();
        if (control_ < 0) return;
      } else {
        std::uint64_t count;
        [[maybe_unused]] auto r = read(ready_, &count, sizeof count);
        early = true;
      }
    }
    if (early || std::chrono::steady_clock::now() >= next_report) {
      bury();
      report();
      next_report = std::chrono::steady_clock::now() + std::chrono::milliseconds(kReportMs);
    }
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

// The rules and limits now, for every worker. Listeners of rules that are
// gone retire; the new ones join.
void ProxyServer::apply(ProxyConfig config, std::vector<int> fds) {
  if (fds.size() != config.listeners.size())
    throw std::invalid_argument("listeners and their fds do not match");
  auto next = std::make_shared<WorkerConfig>();
  next->generation = ++generation_;
  next->limits = config.limits;
  next->record_allowed = config.record_allowed;
  for (auto& r : config.rules) {
    auto slot = r.slot;
    next->rules[slot] = std::make_shared<const ActiveRule>(std::move(r));
  }
  for (auto it = listeners_.begin(); it != listeners_.end();) {
    if (next->rules.count(it->slot)) {
      ++it;
      continue;
    }
    retired_.emplace_back(generation_, it->fd);
    it = listeners_.erase(it);
  }
  for (std::size_t i = 0; i < fds.size(); ++i) {
    ListenerInfo l;
    l.fd = fds[i];
    l.slot = config.listeners[i].slot;
    socklen_t len = sizeof l.address;
    getsockname(l.fd, reinterpret_cast<sockaddr*>(&l.address), &len);
    listeners_.push_back(l);
  }
  next->listeners = listeners_;
  for (auto& w : workers_) w->post(next);
  configured_ = true;
}

// Closes the retired listeners no worker waits on any more.
void ProxyServer::bury() {
  if (retired_.empty()) return;
  std::uint64_t all = generation_;
  for (const auto& w : workers_) all = std::min(all, w->applied());
  std::erase_if(retired_, [&](const auto& entry) {
    if (entry.first > all) return false;
    close(entry.second);
    return true;
  });
}

// Records go to sluiced in batches; when its socket is full they are
// dropped rather than stall the proxy (sluiced counts what it got).
void ProxyServer::report() {
  WorkerOutput out;
  std::uint64_t active = 0;
  for (auto& w : workers_) {
    w->collect(out);
    active += w->active_connections();
  }
  if (out.records.empty() && !configured_) return;
  // At most kEarlyReport records a message: a message must fit the
  // socket's buffer whole.
  std::size_t next = 0;
  do {
    ProxyReport r;
    if (next == 0)
      for (auto& [rule, c] : out.counters) r.counters.push_back(std::move(c));
    r.active_connections = active;
    std::size_t end = std::min(out.records.size(), next + Worker::kEarlyReport);
    r.records.assign(std::make_move_iterator(out.records.begin() + next),
                     std::make_move_iterator(out.records.begin() + end));
    next = end;
    try {
      send_message(control_, encode(r));
    } catch (const std::system_error&) {
      return;
    }
  } while (next < out.records.size());
}

}  // namespace sluice::proxy
