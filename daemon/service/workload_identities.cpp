#include "service/workload_identities.h"

#include <map>
#include <set>

#include "datapath/datapath.h"
#include "flows/workload_names.h"
#include "service/flow_pipeline.h"

namespace sluice::service {

WorkloadIdentities::WorkloadIdentities(datapath::Datapath& datapath, FlowPipeline& flows)
    : datapath_(datapath), flows_(flows), names_(std::make_shared<flows::WorkloadNames>()) {}

namespace {

// The cluster's pod at one of w's addresses, or null.
const policy::ClusterPod* pod_of(const policy::Workload& w,
                                 const std::map<std::string, const policy::ClusterPod*>& pods) {
  for (const auto& a : w.addresses)
    if (auto it = pods.find(a.to_string()); it != pods.end()) return it->second;
  return nullptr;
}

}  // namespace

void WorkloadIdentities::update(const config::Config& cfg,
                                std::vector<policy::Workload> workloads) {
  std::map<std::string, const policy::ClusterPod*> pod_at;
  for (const auto& p : cluster_pods_)
    for (const auto& a : p.addresses) pod_at[a.to_string()] = &p;
  std::vector<config::Labels> sets, keys;
  std::vector<std::string> shown;  // names in flows
  std::set<const policy::ClusterPod*> local;
  for (const auto& w : workloads) {
    auto labelled = w;
    const auto* pod = pod_of(w, pod_at);
    if (pod) {  // a pod of this node: its labels join the runtime's
      local.insert(pod);
      labelled.runtime_labels.insert(pod->labels.begin(), pod->labels.end());
    }
    sets.push_back(policy::labels_of(labelled, cfg));
    keys.push_back(policy::identity_key(w, sets.back()));
    shown.push_back(pod ? pod->name : w.name);
  }
  std::vector<const policy::ClusterPod*> remote;
  for (const auto& p : cluster_pods_) {
    if (local.count(&p)) continue;
    remote.push_back(&p);
    auto key = p.labels;
    key[policy::kNetworkLabel] = policy::kClusterNetwork;
    keys.push_back(key);
  }
  auto ids = numbers_.assign(keys);

  std::vector<std::pair<datapath::LocalAddress, std::uint32_t>> entries;
  auto names = std::make_shared<flows::WorkloadNames>();
  std::vector<Identified> identified;
  for (std::size_t i = 0; i < workloads.size(); ++i) {
    identified.push_back({sets[i], ids[i]});
    names->labels[ids[i]] = config::to_string(sets[i]);
    for (const auto& a : workloads[i].addresses) {
      datapath::LocalAddress addr;
      addr.family = a.family;
      addr.addr = a.addr;
      entries.push_back({addr, ids[i]});
      names->by_address[a.to_string()] = {shown[i], ids[i]};
    }
  }
  for (std::size_t r = 0; r < remote.size(); ++r) {
    auto id = ids[workloads.size() + r];
    names->labels[id] = config::to_string(remote[r]->labels);
    for (const auto& a : remote[r]->addresses) {
      datapath::LocalAddress addr;
      addr.family = a.family;
      addr.addr = a.addr;
      entries.push_back({addr, id});
      names->by_address[a.to_string()] = {remote[r]->name, id};
    }
  }
  datapath_.set_identities(entries);
  workloads_ = std::move(workloads);
  identified_ = std::move(identified);
  names_ = names;
  flows_.workloads_changed(std::move(names));
}

const WorkloadIdentities::Identified* WorkloadIdentities::find(const std::string& network,
                                                               const std::string& container_id,
                                                               const std::string& ifname) const {
  for (std::size_t i = 0; i < workloads_.size(); ++i) {
    const auto& w = workloads_[i];
    if (w.network == network && w.container_id == container_id && w.ifname == ifname)
      return &identified_[i];
  }
  return nullptr;
}

}  // namespace sluice::service
