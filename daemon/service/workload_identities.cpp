#include "service/workload_identities.h"

#include "datapath/datapath.h"
#include "flows/workload_names.h"
#include "service/flow_pipeline.h"

namespace sluice::service {

WorkloadIdentities::WorkloadIdentities(datapath::Datapath& datapath, FlowPipeline& flows)
    : datapath_(datapath), flows_(flows), names_(std::make_shared<flows::WorkloadNames>()) {}

void WorkloadIdentities::update(const config::Config& cfg,
                                std::vector<policy::Workload> workloads) {
  std::vector<config::Labels> sets, keys;
  for (const auto& w : workloads) {
    sets.push_back(policy::labels_of(w, cfg));
    keys.push_back(policy::identity_key(w, sets.back()));
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
      names->by_address[a.to_string()] = {workloads[i].name, ids[i]};
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
