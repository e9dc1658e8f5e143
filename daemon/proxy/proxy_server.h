// The proxy process's coordinating thread: the control channel to sluiced
// (rules and listeners in, records and counters out), the listeners'
// descriptors, and the worker threads that serve the connections
// (worker.h). It parses no traffic itself.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "proxy/admission.h"
#include "proxy/worker.h"

namespace sluice::proxy {

class ProxyServer {
 public:
  // control: the SOCK_SEQPACKET end sluiced holds the other end of.
  // workers: how many worker threads (at least one); they start here.
  ProxyServer(int control, unsigned workers);
  ~ProxyServer();
  ProxyServer(const ProxyServer&) = delete;
  ProxyServer& operator=(const ProxyServer&) = delete;

  // Serves until sluiced closes the channel. Throws on a broken channel.
  void run();

 private:
  void on_control();
  void apply(ProxyConfig config, std::vector<int> fds);
  void bury();
  void report();

  int control_;
  int epoll_fd_ = -1;
  int ready_ = -1;  // workers: records waiting
  IoHandle control_io_{IoHandle::Kind::Control, nullptr, 0};
  IoHandle ready_io_{IoHandle::Kind::Wakeup, nullptr, 0};
  Admission admission_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<ListenerInfo> listeners_;  // owned: closed here
  // Listeners of rules that are gone, with the generation that dropped
  // them: closed once every worker has applied it.
  std::vector<std::pair<std::uint64_t, int>> retired_;
  std::uint64_t generation_ = 0;
  bool configured_ = false;
};

}  // namespace sluice::proxy
