#include "policy/identities.h"

#include <set>

namespace sluice::policy {

config::Labels labels_of(const Workload& w, const config::Config& cfg) {
  config::Labels out = w.runtime_labels;
  for (const auto& e : cfg.endpoint_labels) {
    if (!e.network.empty() && e.network != w.network) continue;
    if (!config::glob_matches(e.match.container, w.name)) continue;
    for (const auto& [k, v] : e.labels) out[k] = v;
  }
  return out;
}

config::Labels identity_key(const Workload& w, const config::Labels& labels) {
  auto key = labels;
  key[kNetworkLabel] = w.network;
  return key;
}

std::vector<std::uint32_t> Identities::assign(const std::vector<config::Labels>& sets) {
  std::set<config::Labels> present(sets.begin(), sets.end());
  for (auto it = ids_.begin(); it != ids_.end();) {
    if (present.count(it->first)) {
      ++it;
      continue;
    }
    by_id_.erase(it->second);
    it = ids_.erase(it);
  }
  std::vector<std::uint32_t> out;
  for (const auto& s : sets) {
    auto it = ids_.find(s);
    if (it == ids_.end()) {
      // The lowest free number: numbers stay small and are reused.
      std::uint32_t id = kFirstIdentity;
      while (by_id_.count(id)) ++id;
      it = ids_.emplace(s, id).first;
      by_id_[id] = s;
    }
    out.push_back(it->second);
  }
  return out;
}

const config::Labels* Identities::labels(std::uint32_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &it->second;
}

bool uses_selectors(const config::Config& cfg) {
  for (const auto& r : cfg.rules)
    if (r.from.selector || r.to.selector) return true;
  return false;
}

namespace {

void resolve(config::Endpoint& ep, const std::vector<Workload>& workloads,
             const std::vector<config::Labels>& labels) {
  if (!ep.selector) return;
  for (std::size_t i = 0; i < workloads.size(); ++i)
    if (config::selects(*ep.selector, workloads[i].name, labels[i]))
      ep.prefixes.insert(ep.prefixes.end(), workloads[i].addresses.begin(),
                         workloads[i].addresses.end());
}

}  // namespace

config::Config resolve_selectors(config::Config cfg, const std::vector<Workload>& workloads) {
  if (!uses_selectors(cfg)) return cfg;
  std::vector<config::Labels> labels;
  for (const auto& w : workloads) labels.push_back(labels_of(w, cfg));
  for (auto& r : cfg.rules) {
    resolve(r.from, workloads, labels);
    resolve(r.to, workloads, labels);
  }
  return cfg;
}

}  // namespace sluice::policy
