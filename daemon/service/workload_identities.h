// The workloads (containers sluice-cni wired) as policy sees them: their
// labels under the live configuration, an identity number per distinct
// label set, the datapath's identities map (address -> identity) and the
// names flow records give them. Recomputed whenever a container comes or
// goes and whenever a ruleset goes live ([[endpoint]] labels may change):
// a label change re-identifies a workload without re-attaching anything.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/selector.h"
#include "policy/identities.h"

namespace sluice::datapath {
class Datapath;
}  // namespace sluice::datapath

namespace sluice::flows {
struct WorkloadNames;
}  // namespace sluice::flows

namespace sluice::service {

class FlowPipeline;

class WorkloadIdentities {
 public:
  WorkloadIdentities(datapath::Datapath& datapath, FlowPipeline& flows);

  // Labels and identities of workloads under cfg: the identities map
  // holds exactly their addresses afterwards (an identity whose last
  // workload went leaves no entry behind).
  void update(const config::Config& cfg, std::vector<policy::Workload> workloads);
  // Kubernetes mode: the cluster's pods, identified beside the workloads
  // (their addresses in the identities map too: flows name remote pods).
  // Takes effect at the next update().
  void set_cluster_pods(std::vector<policy::ClusterPod> pods) { cluster_pods_ = std::move(pods); }

  const std::vector<policy::Workload>& workloads() const { return workloads_; }
  // What flow records and conntrack listings call them (never null).
  std::shared_ptr<const flows::WorkloadNames> names() const { return names_; }

  struct Identified {
    config::Labels labels;
    std::uint32_t identity = 0;
  };
  // The workload of (network, container, interface); null when unknown.
  const Identified* find(const std::string& network, const std::string& container_id,
                         const std::string& ifname) const;

 private:
  datapath::Datapath& datapath_;
  FlowPipeline& flows_;
  policy::Identities numbers_;
  std::vector<policy::Workload> workloads_;
  std::vector<policy::ClusterPod> cluster_pods_;
  std::vector<Identified> identified_;  // one per workload
  std::shared_ptr<const flows::WorkloadNames> names_;
};

}  // namespace sluice::service
