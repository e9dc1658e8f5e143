// The L7 proxy process, as sluiced runs it (docs/l7.md): started as its
// own user without capabilities when the ruleset has http/tls_sni rules,
// given a listener per rule and family (which sluiced makes: only it may
// set IP_TRANSPARENT) and the rules, restarted when it dies, stopped when
// the rules no longer need it. sluiced keeps no copy of a listener, so a
// dead proxy means closed listeners, which the datapath treats as "no
// proxy": steered flows are dropped, never forwarded unchecked.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "config/model.h"
#include "proxy/control_messages.h"

namespace sluice::datapath {
class Datapath;
}

namespace sluice::service {

class ProxySupervisor {
 public:
  using Clock = std::chrono::steady_clock;
  using OnReport = std::function<void(proxy::ProxyReport)>;

  // binary: the sluice-proxy executable.
  ProxySupervisor(std::string binary, datapath::Datapath& datapath, OnReport on_report);
  // Stops the proxy; keep_routing leaves the mark's routing in place (for
  // a sluiced that leaves the datapath enforcing).
  ~ProxySupervisor();
  ProxySupervisor(const ProxySupervisor&) = delete;
  ProxySupervisor& operator=(const ProxySupervisor&) = delete;

  // The installed config (proxy slots assigned): its L7 rules and [proxy].
  void configure(const config::Config& installed);
  // The control socket to poll (-1: no proxy); handle() when readable.
  int fd() const { return control_; }
  void handle();
  // Restarts a proxy that died, when its back-off has passed.
  void tick();
  void keep_routing() { keep_routing_ = true; }

  struct Status {
    bool wanted = false;  // the ruleset has L7 rules
    bool running = false;
    pid_t pid = 0;
    std::uint64_t starts = 0;
    std::uint64_t active_connections = 0;
    std::string last_exit;  // how the last proxy ended
  };
  const Status& status() const { return status_; }
  // Requests by rule since sluiced started (all proxies it ran), with
  // their latency histogram: for /metrics.
  const std::map<std::string, proxy::RuleCounters>& counters() const { return counters_; }

 private:
  void start();
  void stop();
  void ended();
  void send(const std::set<std::uint16_t>& new_slots);

  std::string binary_;
  datapath::Datapath& datapath_;
  OnReport on_report_;
  proxy::ProxyConfig config_;
  std::set<std::uint16_t> handed_;  // slots whose listeners the proxy has
  int control_ = -1;
  bool routing_ = false, keep_routing_ = false;
  Clock::time_point restart_at_{};
  std::chrono::milliseconds backoff_{250};
  Clock::time_point started_at_{};
  Status status_;
  std::map<std::string, proxy::RuleCounters> counters_;
};

}  // namespace sluice::service
