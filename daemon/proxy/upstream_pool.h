// Idle connections to servers, kept for the next request to the same
// destination (whichever client it comes from): a client that closes after
// each request then costs one connection, not two (the way a reverse proxy
// keeps its upstream connections alive). Connection is hop-by-hop, so the
// proxy may keep its own side open.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "proxy/io_handle.h"

namespace sluice::proxy {

class UpstreamPool {
 public:
  using Clock = std::chrono::steady_clock;
  UpstreamPool() = default;
  ~UpstreamPool();
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  // A server connection stays in its worker's epoll while idle (for
  // reading only: a server that closes it, or sends what nobody asked for,
  // wakes the pool, which closes it), with the handle that travels with it.
  struct Taken {
    int fd = -1;
    std::unique_ptr<IoHandle> handle;
  };

  // An idle connection to destination that is still open (fd -1: none).
  // The caller points the handle at itself. Handles of connections found
  // closed go to retired.
  Taken take(const sockaddr_storage& destination, RetiredHandles& retired);
  // Keeps fd (idle, nothing pending either way, registered for EPOLLIN
  // with handle) for reuse; when the pool is full, closes it and retires
  // the handle.
  void give(const sockaddr_storage& destination, int fd, std::unique_ptr<IoHandle> handle,
            RetiredHandles& retired);
  // An event on an idle connection (handle of Kind::Pooled): closes it
  // unless it is still quiet (the event was for an earlier owner).
  void on_event(IoHandle* handle, RetiredHandles& retired);
  // Closes connections idle longer than max_idle. Only between rounds:
  // their handles are freed at once.
  void expire(Clock::duration max_idle);
  std::size_t size() const { return count_; }

  static constexpr std::size_t kPerDestination = 256;
  static constexpr std::size_t kTotal = 4096;

 private:
  struct Idle {
    int fd;
    Clock::time_point since;
    std::unique_ptr<IoHandle> handle;
  };
  std::map<std::string, std::vector<Idle>> idle_;  // by destination address and port
  std::size_t count_ = 0;
};

}  // namespace sluice::proxy
