// sluiced's job: keep the datapath attached to the configured interfaces,
// enforcing the last valid ruleset, with the host's addresses current, and
// its flows recorded. A facade over the parts that do it, each with one
// job: Rulesets (what is live, applies, confirm, rollback), Interfaces
// (attachments, routing, NAT, fast path), FlowPipeline (events, the
// journal, the conntrack sweep). Callers get read-only views (Readings),
// never the datapath.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/diagnostics.h"
#include "service/cluster_watch_report.h"
#include "service/flow_pipeline.h"
#include "service/proxy_supervisor.h"
#include "service/readings.h"
#include "service/rulesets.h"

namespace sluice::datapath {
class Datapath;
}  // namespace sluice::datapath

namespace sluice::store {
class FlowLog;
class StateStore;
}  // namespace sluice::store

namespace sluice::service {

struct ServiceOptions {
  std::string config_path = "/etc/sluice/sluice.toml";
  std::string pin_dir = "/sys/fs/bpf/sluice";  // empty: nothing pinned
  // The flow history's database (sluiced opens the same file for the
  // config history and accounts); empty: none.
  std::string database_path = "/var/lib/sluice/sluice.db";
  // Where address lists may be read besides the config file's directory.
  std::vector<std::string> list_dirs;
  // The control socket sluiced listens on: what sluice-cni's network
  // configuration names (sluicectl cni install).
  std::string control_socket = "/run/sluice/sluice.sock";
  // The L7 proxy executable; empty: sluice-proxy in sluiced's directory.
  std::string proxy_binary;
};

class Interfaces;
class Containers;

class Service {
 public:
  using Clock = std::chrono::steady_clock;
  using ApplyOutcome = Rulesets::ApplyOutcome;
  using ApplyStats = Rulesets::ApplyStats;
  using SweepStep = FlowPipeline::SweepStep;

  // Loads the BPF programs (taking over the pinned maps of a previous
  // sluiced, conntrack included) and applies the config; throws
  // std::runtime_error (with every config error) when it cannot. state:
  // the config history, audit log and accounts, owned by the caller
  // (nullptr when unavailable: state_error says why).
  Service(ServiceOptions options, store::StateStore* state, std::string state_error);
  // Detaches from every interface and removes the pins, unless
  // keep_datapath_enforcing() was called.
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // On stop, leave the programs attached and the maps pinned, enforcing
  // the last ruleset until the next sluiced takes over (upgrades).
  void keep_datapath_enforcing() {
    keep_ = true;
    proxy_->keep_routing();
  }

  // The ruleset (see Rulesets). who: recorded in the config history and
  // the audit log.
  config::Diagnostics reload(const std::string& who) { return rulesets_->reload(who); }
  ApplyOutcome apply_file(std::optional<std::chrono::seconds> confirm_within,
                          const std::string& who) {
    return rulesets_->apply_file(confirm_within, who);
  }
  ApplyOutcome apply_text(const std::string& text,
                          std::optional<std::chrono::seconds> confirm_within,
                          const std::string& who) {
    return rulesets_->apply_text(text, confirm_within, who);
  }
  bool confirm(const std::string& who) { return rulesets_->confirm(who); }
  bool rollback(std::string& why, const std::string& who) { return rulesets_->rollback(why, who); }
  const policy::Ruleset& live() const { return rulesets_->live(); }
  const std::string& config_path() const { return rulesets_->config_path(); }
  const std::vector<std::string>& list_dirs() const { return rulesets_->list_dirs(); }
  std::optional<Clock::time_point> confirm_deadline() const {
    return rulesets_->confirm_deadline();
  }
  std::uint64_t applied_at_ns() const { return rulesets_->applied_at_ns(); }
  const ApplyStats& apply_stats() const { return rulesets_->apply_stats(); }

  // Config history, audit log and accounts, for the command handlers;
  // null when the database is unavailable (state_error() says why).
  store::StateStore* state() const { return state_; }
  const std::string& state_error() const { return state_error_; }

  // Rolls back an unconfirmed apply whose deadline passed, and ends the
  // current second of event logging. Called often.
  void tick();

  // Flows (see FlowPipeline).
  int events_fd() const { return pipeline_->events_fd(); }
  bool handle_events() { return pipeline_->handle_events(); }
  std::uint64_t events_received(unsigned type) const { return pipeline_->events_received(type); }
  std::uint64_t conntrack_high_events() const { return pipeline_->conntrack_high_events(); }
  bool sweep_due() const { return pipeline_->sweep_due(); }
  bool sweeping() const { return pipeline_->sweeping(); }
  SweepStep sweep_step() { return pipeline_->sweep_step(); }
  void sweep_record(SweepStep step) {
    pipeline_->sweep_record(std::move(step), live().config.flows.events);
  }
  const FlowPipeline::SweepReport& sweep_report() const { return pipeline_->sweep_report(); }
  // The flow log, shared with readers on other threads.
  std::shared_ptr<store::FlowLog> flows() const { return flows_; }

  // Counters and tables of the datapath, read-only.
  Readings readings() const;
  // The conntrack tables' fill, counted in the kernel: a walk of every
  // bucket, milliseconds for a large table and tens of them on a busy
  // CPU, so not per status request. The loop counts once a second without
  // the service lock (count_conntrack_tables() reads only the kernel's
  // maps, like sweep_step()) and hands the counts over under it.
  datapath::Datapath::ConntrackTableCounts count_conntrack_tables() const;
  void conntrack_counted(const datapath::Datapath::ConntrackTableCounts& counted);
  std::vector<std::pair<std::string, std::string>> interfaces() const;  // name, XDP mode

  // Attaches to configured interfaces that have appeared, forgets ones
  // that vanished, and reloads the host's addresses. Cheap; called often.
  void refresh();

  // Kubernetes mode: what the cluster of now adds (see
  // Rulesets::set_cluster; throws when it cannot be applied).
  void set_cluster(Rulesets::ClusterPart part) { rulesets_->set_cluster(std::move(part)); }
  // Kubernetes mode: how the watch of the API server is doing, as the
  // daemon's loop last copied it (every second).
  void set_watched(std::vector<WatchedCollection> w) { watched_ = std::move(w); }
  const std::vector<WatchedCollection>& watched() const { return watched_; }
  // The pods' address pools: [containers], else this node's podCIDRs.
  config::Containers container_pools() const { return rulesets_->container_pools(); }

  // The containers sluice-cni wires (CNI mode), for the cni_* commands.
  Containers& containers() { return *containers_; }
  // What sluice-cni's configuration must name to reach this sluiced.
  const std::string& control_socket() const { return control_socket_; }
  const std::string& cni_pending_dir() const { return cni_pending_dir_; }
  const Rulesets& rulesets() const { return *rulesets_; }

  // The L7 proxy (docs/l7.md): its control socket to poll (-1: none), and
  // what to do when it is readable (records, or the proxy's end).
  int proxy_fd() const { return proxy_->fd(); }
  void handle_proxy() { proxy_->handle(); }
  const ProxySupervisor& proxy() const { return *proxy_; }

 private:
  std::shared_ptr<store::FlowLog> flows_;
  std::unique_ptr<datapath::Datapath> datapath_;
  store::StateStore* state_;
  std::string state_error_;
  std::unique_ptr<FlowPipeline> pipeline_;
  std::unique_ptr<Interfaces> interfaces_;
  std::unique_ptr<Containers> containers_;
  std::unique_ptr<ProxySupervisor> proxy_;
  std::string control_socket_;
  std::string cni_pending_dir_;
  std::unique_ptr<Rulesets> rulesets_;
  std::vector<WatchedCollection> watched_;
  datapath::Datapath::ConntrackTableCounts conntrack_counted_{};
  bool keep_ = false;
};

}  // namespace sluice::service
