// The ruleset's life: the one live (and the one before it), applies from
// the config file or from new text (which becomes the file), commit-confirm
// with its deadline kept across restarts, rollbacks that rewrite the file,
// and the config history and audit entries each change leaves.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/diagnostics.h"
#include "config/diff.h"
#include "policy/ruleset.h"
#include "service/workload_identities.h"

namespace sluice::datapath {
class Datapath;
}  // namespace sluice::datapath

namespace sluice::store {
class StateStore;
}  // namespace sluice::store

namespace sluice::service {

class FlowPipeline;
class Interfaces;

class Rulesets {
 public:
  using Clock = std::chrono::steady_clock;

  // state: the config history and audit log (nullptr: none). The parts
  // that follow the live ruleset: flows (rule names), interfaces
  // (routing, NAT, fast path).
  Rulesets(std::string config_path, std::vector<std::string> list_dirs,
           datapath::Datapath& datapath, store::StateStore* state, FlowPipeline& flows,
           Interfaces& interfaces);

  // Makes the first ruleset live: the file's, or the one before an apply
  // whose confirmation deadline passed while sluiced was stopped.
  void start(policy::Ruleset from_file);

  struct ApplyOutcome {
    config::Diagnostics diagnostics;      // non-empty: nothing was applied
    std::vector<config::Change> changes;  // what the apply changed
    std::uint64_t version = 0;            // in the config history (0: not recorded)
  };
  // Re-reads the config file; an apply awaiting confirmation keeps its
  // deadline (the file it re-reads is the unconfirmed one).
  config::Diagnostics reload(const std::string& who);
  ApplyOutcome apply_file(std::optional<std::chrono::seconds> confirm_within,
                          const std::string& who);
  // Valid text replaces the config file, then applies; invalid text
  // changes nothing.
  ApplyOutcome apply_text(const std::string& text,
                          std::optional<std::chrono::seconds> confirm_within,
                          const std::string& who);
  bool confirm(const std::string& who);
  // Back to the ruleset before the last apply (the last confirmed one
  // while an apply awaits confirmation), its text written back to the file.
  bool rollback(std::string& why, const std::string& who);
  // Rolls back an unconfirmed apply whose deadline passed.
  void tick();

  const policy::Ruleset& live() const { return *live_; }
  // The rules the datapath holds, in its order (their counters' indexes):
  // the live ruleset's, then NetworkPolicy's.
  const std::vector<config::Rule>& installed_rules() const {
    return installed_ ? installed_->rules : live_->config.rules;
  }

  // Interfaces that came, went or changed addresses: attachments, routes,
  // NAT (with the containers' published ports) follow the live ruleset.
  void refresh();

  // The containers wired now (CNI mode): their identities follow, and so
  // does the live ruleset when its rules select containers (re-applied
  // with their addresses; nothing else changes).
  void set_workloads(std::vector<policy::Workload> workloads);
  // Kubernetes mode: what the cluster as the API server has it now adds
  // to the TOML (docs/kubernetes.md): NetworkPolicy's rules (after the
  // TOML's), routes to the other nodes' pods, and this node's podCIDRs as
  // the pods' pools where [containers] names none.
  struct ClusterPart {
    std::vector<config::Rule> rules;
    std::vector<config::Route> routes;
    std::optional<config::Prefix> pool_v4, pool_v6;
    std::optional<config::VxlanTunnel> vxlan;   // tunnel = "vxlan"
    std::vector<config::Interface> interfaces;  // the tunnel device, sluice's like any
    std::vector<policy::ClusterPod> pods;       // identities: flows name every pod
    // For status: which state of the cluster this is, and what it held.
    std::uint64_t sequence = 0;
    std::string node;
    std::size_t policies = 0;
  };
  // The cluster part applied last (sequence 0: none yet), and when
  // (bpf_ktime_get_ns() time).
  const ClusterPart& cluster() const { return cluster_; }
  std::uint64_t cluster_applied_at_ns() const { return cluster_applied_at_ns_; }
  // The live ruleset is re-applied with it. Throws when it cannot be
  // applied (what was there before stays).
  void set_cluster(ClusterPart part);
  // The pods' (containers') address pools: [containers], else the node's.
  config::Containers container_pools() const;
  // Called with the config as installed (selectors resolved, proxy slots
  // given) after every install: the L7 proxy follows it.
  void on_installed(std::function<void(const config::Config&)> fn) {
    on_installed_ = std::move(fn);
  }
  const WorkloadIdentities& identities() const { return identities_; }
  const std::string& config_path() const { return config_path_; }
  const std::vector<std::string>& list_dirs() const { return list_dirs_; }
  std::optional<Clock::time_point> confirm_deadline() const {
    return pending_ ? std::optional(pending_->deadline) : std::nullopt;
  }
  // When the live ruleset was applied, in bpf_ktime_get_ns() time.
  std::uint64_t applied_at_ns() const { return applied_at_ns_; }

  struct ApplyStats {
    std::uint64_t applied = 0;  // rulesets made live (start, applies, rollbacks)
    std::uint64_t failed = 0;   // applies refused or failed
    double last_seconds = 0;    // the last one: maps written until live
  };
  const ApplyStats& apply_stats() const { return apply_stats_; }

 private:
  struct PendingConfirm {
    Clock::time_point deadline;
    policy::Ruleset restore;
  };
  void apply(const policy::Ruleset& ruleset);
  // The ruleset's compiled form into the datapath (its container
  // selectors resolved to the workloads of now first).
  void install(const policy::Ruleset& ruleset);
  // cfg as the datapath and the interfaces take it: rules' container
  // selectors as the workloads' addresses, published ports as port
  // forwards, NetworkPolicy's rules after the TOML's.
  config::Config with_workloads(const config::Config& cfg) const;
  ApplyOutcome apply_loaded(policy::LoadResult loaded,
                            std::optional<std::chrono::seconds> confirm_within,
                            const std::string& who, const std::string* new_text,
                            bool keep_pending = false);
  // The live ruleset into the config history (and the audit log).
  std::uint64_t record_version(const std::string& who, const std::string& diff,
                               const std::string& what);
  void audit(const std::string& who, const std::string& what, const std::string& detail);
  // pending_ and its copy in the database (which outlives a restart)
  // change together.
  void set_pending(std::optional<PendingConfirm> pending);
  // At start: the ruleset to start with instead of the file's, when an
  // apply awaited confirmation as sluiced stopped and its deadline has
  // passed since (the file is rewritten); resumes the wait otherwise.
  std::optional<policy::Ruleset> resume_pending_confirm();

  std::string config_path_;
  std::vector<std::string> list_dirs_;
  datapath::Datapath& datapath_;
  store::StateStore* state_;
  FlowPipeline& flows_;
  Interfaces& interfaces_;
  WorkloadIdentities identities_;
  ClusterPart cluster_;
  std::map<std::string, std::uint16_t> proxy_slots_;  // of the installed ruleset's L7 rules
  std::function<void(const config::Config&)> on_installed_;
  std::optional<policy::Ruleset> live_;
  // live_'s configuration with the workloads in it (selectors resolved,
  // published ports as port forwards): what the interfaces follow.
  std::optional<config::Config> installed_;
  std::optional<policy::Ruleset> previous_;
  std::optional<PendingConfirm> pending_;
  std::uint64_t applied_at_ns_ = 0;
  std::uint64_t cluster_applied_at_ns_ = 0;
  std::size_t last_map_entries_ = 0;  // of the last install
  std::uint32_t last_generation_ = 0;
  ApplyStats apply_stats_;
};

}  // namespace sluice::service
