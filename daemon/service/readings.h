// What the datapath counts and holds, read-only, for the command handlers
// and /metrics: they get this view, never the datapath itself.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "config/model.h"
#include "datapath/datapath.h"

namespace sluice::service {

class Readings {
 public:
  // conntrack: the tables as the daemon counted them last (Service::
  // conntrack_counted()), at most a second ago.
  Readings(const datapath::Datapath& datapath,
           const datapath::Datapath::ConntrackTableCounts& conntrack)
      : dp_(datapath), conntrack_(conntrack) {}

  sluice_counter rule(std::uint32_t rule_index) const { return dp_.rule_counter(rule_index); }
  sluice_counter chain_default(config::Chain chain) const { return dp_.default_counter(chain); }
  sluice_counter passed() const { return dp_.passed_counter(); }
  sluice_counter drops(sluice_drop_reason reason) const { return dp_.drop_counter(reason); }
  sluice_counter audited(sluice_audit_reason reason) const { return dp_.audit_counter(reason); }
  sluice_counter nat(sluice_nat_counter which) const { return dp_.nat_counter(which); }
  sluice_counter fast_path(sluice_fastpath_counter which) const {
    return dp_.fastpath_counter(which);
  }
  std::uint64_t events_lost(sluice_event_loss why) const { return dp_.events_lost(why); }
  std::uint32_t generation() const { return dp_.active_generation(); }
  std::vector<datapath::Datapath::MapUsage> map_usage() const { return dp_.map_usage(conntrack_); }
  // Walks the conntrack table a few thousand entries at a time, until fn
  // returns false.
  void for_each_flow(
      const std::function<bool(const datapath::Datapath::ConntrackEntry&)>& fn) const {
    dp_.for_each_conntrack(fn);
  }
  std::size_t flow_count() const { return dp_.count_conntrack().flows; }

 private:
  const datapath::Datapath& dp_;
  const datapath::Datapath::ConntrackTableCounts& conntrack_;
};

}  // namespace sluice::service
