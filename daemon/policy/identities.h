// Workloads (the containers sluice-cni wired), their labels and identities,
// and the rules' container selectors resolved to their addresses.
// docs/cni.md ("Identities").
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/model.h"
#include "config/selector.h"

namespace sluice::policy {

// A port the runtime asked to publish (CNI portMappings): connections to
// host_port on the host's addresses (host_ip only, when set) go to the
// workload's container_port.
struct PublishedPort {
  config::Protocol proto = config::Protocol::Tcp;  // tcp or udp
  std::uint16_t host_port = 0;
  std::uint16_t container_port = 0;
  std::optional<config::Prefix> host_ip;
  bool operator==(const PublishedPort&) const = default;
};

struct Workload {
  std::string network;
  std::string container_id;
  std::string ifname;
  std::string name;               // the runtime's name for it (K8S_POD_NAME), else the id
  config::Labels runtime_labels;  // what the runtime passed
  std::vector<config::Prefix> addresses;
  std::vector<PublishedPort> ports;
};

// A pod of a Kubernetes cluster as the API server has it (Kubernetes
// mode): this node's and the other nodes'. Its labels are the pod's plus
// its namespace's (docs/kubernetes.md, "Identities"); a workload that is
// one of them (same address) is named and labelled after it.
struct ClusterPod {
  std::string name;  // namespace/name
  config::Labels labels;
  std::vector<config::Prefix> addresses;
};
inline constexpr const char* kClusterNetwork =
    "kubernetes";  // identity_key's network of remote pods

// Identity numbers below this are reserved (0: no workload).
inline constexpr std::uint32_t kFirstIdentity = 256;

// The labels a workload has under cfg: the runtime's, then those of every
// [[endpoint]] matching its name (and network), in file order; the
// configuration's win over the runtime's for the same key.
config::Labels labels_of(const Workload& w, const config::Config& cfg);

// What an identity stands for: the workload's labels and its network
// (under the reserved key "sluice/network"), so that the same labels on
// two networks are two identities. The name is not in it: every
// container would be an identity of its own ({ container = "glob" }
// selects by name instead).
config::Labels identity_key(const Workload& w, const config::Labels& labels);
inline constexpr const char* kNetworkLabel = "sluice/network";

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

// cfg's port forwards plus one per published port of each workload, on
// every [[interface]], to the workload's address of each family.
void add_published_ports(config::Config& cfg, const std::vector<Workload>& workloads);

// Why candidate's published ports cannot be served beside cfg's port
// forwards and the other workloads' published ports ("" when they can):
// a (protocol, host port) taken on an address both would listen on.
std::string published_port_conflict(const config::Config& cfg, const std::vector<Workload>& others,
                                    const Workload& candidate);

}  // namespace sluice::policy
