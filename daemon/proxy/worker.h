// One of the proxy's worker threads: its own epoll, the connections it
// accepted (a connection stays on the thread that accepted it, so nothing
// of a connection is ever shared), its own pool of idle server
// connections, records and counters. Every worker waits on every listener
// (EPOLLEXCLUSIVE: a new connection wakes one of them). The coordinating
// thread (proxy_server.cpp) posts rule sets and collects what was decided.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "proxy/admission.h"
#include "proxy/connection.h"

namespace sluice::proxy {

// A listener sluiced handed over, as the workers see it (the coordinator
// owns the descriptor).
struct ListenerInfo {
  int fd = -1;
  std::uint16_t slot = 0;
  sockaddr_storage address{};  // its own: connections to it are loops
};

// What every worker applies: one generation of the proxy's configuration.
struct WorkerConfig {
  std::uint64_t generation = 0;
  config::ProxySettings limits;
  bool record_allowed = true;
  std::map<std::uint16_t, std::shared_ptr<const ActiveRule>> rules;  // by slot
  std::vector<ListenerInfo> listeners;
};

// What a worker decided since it was last asked.
struct WorkerOutput {
  std::vector<L7Record> records;
  std::map<std::string, RuleCounters> counters;  // by rule
};

class Worker {
 public:
  // ready: an eventfd the worker writes to when many records are waiting.
  Worker(Admission& admission, int ready);
  ~Worker();  // stops the thread and closes its connections
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Hands the worker a configuration; it applies it on its own thread.
  void post(std::shared_ptr<const WorkerConfig> config);
  // The generation the worker applied last (listeners of older ones it no
  // longer waits on).
  std::uint64_t applied() const { return applied_.load(); }
  // Moves out what was decided since the last call.
  void collect(WorkerOutput& into);
  std::size_t active_connections() const { return active_.load(); }

  // More records than this waiting and the worker wakes the coordinator.
  static constexpr std::size_t kEarlyReport = 512;
  // Beyond this many unreported records (sluiced not reading), new ones
  // are dropped rather than kept.
  static constexpr std::size_t kMaxWaiting = 65536;

 private:
  void run();
  void on_wakeup();
  void apply(const WorkerConfig& config);
  void accept_from(int listener, std::uint16_t slot);
  void refuse(const Connection& conn, std::uint16_t slot, const char* reason);
  void reap(Connection* conn);
  void tick();
  void hand_over();

  struct Listening {
    ListenerInfo info;
    std::unique_ptr<IoHandle> io;
  };

  Admission& admission_;
  int ready_;
  int wakeup_ = -1;
  IoHandle wakeup_io_{IoHandle::Kind::Wakeup, nullptr, 0};
  ProxyState state_;
  std::vector<Listening> listeners_;
  std::map<Connection*, std::unique_ptr<Connection>> connections_;
  std::vector<Connection*> touched_;  // had events this round: finished?
  Clock::time_point next_expiry_{};

  std::mutex mutex_;  // guards the fields below
  std::shared_ptr<const WorkerConfig> posted_;
  WorkerOutput output_;
  bool stop_ = false;

  std::atomic<std::uint64_t> applied_{0};
  std::atomic<std::size_t> active_{0};
  std::thread thread_;
};

}  // namespace sluice::proxy
