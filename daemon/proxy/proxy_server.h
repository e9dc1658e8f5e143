// The proxy process's event loop: the listeners sluiced handed over (one
// per L7 rule and family), the connections they accept, the control
// channel (rules in, records out) and the timers. One thread, epoll.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "proxy/connection.h"

namespace sluice::proxy {

class ProxyServer {
 public:
  // control: the SOCK_SEQPACKET end sluiced holds the other end of.
  explicit ProxyServer(int control);
  ~ProxyServer();
  ProxyServer(const ProxyServer&) = delete;
  ProxyServer& operator=(const ProxyServer&) = delete;

  // Serves until sluiced closes the channel. Throws on a broken channel.
  void run();

 private:
  void on_control();
  void apply(ProxyConfig config, std::vector<int> fds);
  void accept_from(int listener, std::uint16_t slot);
  void tick();
  void report();
  void reap();

  struct Listener {
    int fd = -1;
    std::uint16_t slot = 0;
    sockaddr_storage address{};  // its own: connections to it are loops
    std::unique_ptr<IoHandle> io;
  };

  int control_;
  ProxyState state_;
  IoHandle control_io_{IoHandle::Kind::Control, nullptr, 0};
  std::vector<Listener> listeners_;
  std::map<Connection*, std::unique_ptr<Connection>> connections_;
  std::map<std::string, std::size_t> per_source_;
  bool configured_ = false;
  Clock::time_point next_expiry_{};
};

}  // namespace sluice::proxy
