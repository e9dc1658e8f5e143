// Workloads (the containers sluice-cni wired), their labels and identities,
// and the rules' container selectors resolved to their addresses.
// docs/cni.md ("Identities").
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "config/model.h"
#include "config/selector.h"

namespace sluice::policy {

struct Workload {
  std::string network;
  std::string container_id;
  std::string ifname;
  std::string name;               // the runtime's name for it (K8S_POD_NAME), else the id
  config::Labels runtime_labels;  // what the runtime passed
  std::vector<config::Prefix> addresses;
};

// Identity numbers below this are reserved (0: no workload).
inline constexpr std::uint32_t kFirstIdentity = 256;

// The labels a workload has under cfg: the runtime's, then those of every
// [[endpoint]] matching its name (and network), in file order; the
// configuration's win over the runtime's for the same key.
config::Labels labels_of(const Workload& w, const config::Config& cfg);

// Numbers for label sets: each distinct set one number, kept for as long
// as some workload has that set.
class Identities {
 public:
  // The numbers of sets (one per workload, in order). Sets numbered before
  // keep their numbers; sets no longer present are forgotten.
  std::vector<std::uint32_t> assign(const std::vector<config::Labels>& sets);
  // The labels of an identity; null when it is not (or no longer) known.
  const config::Labels* labels(std::uint32_t id) const;
  std::size_t size() const { return by_id_.size(); }

 private:
  std::map<config::Labels, std::uint32_t> ids_;
  std::map<std::uint32_t, config::Labels> by_id_;
};

// Whether some rule selects containers (its compiled form then depends on
// the workloads).
bool uses_selectors(const config::Config& cfg);

// cfg with every rule's container selector turned into the host prefixes
// of the workloads it selects (labels as labels_of gives them). A selector
// that selects nothing matches nothing.
config::Config resolve_selectors(config::Config cfg, const std::vector<Workload>& workloads);

}  // namespace sluice::policy
