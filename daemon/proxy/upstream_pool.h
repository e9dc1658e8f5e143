// Idle connections to servers, kept for the next request to the same
// destination (whichever client it comes from): a client that closes after
// each request then costs one connection, not two (the way a reverse proxy
// keeps its upstream connections alive). Connection is hop-by-hop, so the
// proxy may keep its own side open.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace sluice::proxy {

class UpstreamPool {
 public:
  using Clock = std::chrono::steady_clock;
  UpstreamPool() = default;
  ~UpstreamPool();
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  // An idle connection to destination that is still open, or -1.
  int take(const sockaddr_storage& destination);
  // Keeps fd (idle, nothing pending either way) for reuse; closes it when
  // the pool is full.
  void give(const sockaddr_storage& destination, int fd);
  // Closes connections idle longer than max_idle.
  void expire(Clock::duration max_idle);
  std::size_t size() const { return count_; }

  static constexpr std::size_t kPerDestination = 256;
  static constexpr std::size_t kTotal = 4096;

 private:
  struct Idle {
    int fd;
    Clock::time_point since;
  };
  std::map<std::string, std::vector<Idle>> idle_;  // by destination address and port
  std::size_t count_ = 0;
};

}  // namespace sluice::proxy
