// Containers' published ports (CNI portMappings) as port forwards.
#include "policy/identities.h"

namespace sluice::policy {

void add_published_ports(config::Config& cfg, const std::vector<Workload>& workloads) {
  for (const auto& w : workloads)
    for (const auto& port : w.ports)
      for (const auto& addr : w.addresses) {
        if (port.host_ip && port.host_ip->family != addr.family) continue;
        for (const auto& itf : cfg.interfaces) {
          config::PortForward f;
          f.in_interface = itf.name;
          f.proto = port.proto;
          f.port = port.host_port;
          f.to = addr;
          f.to_port = port.container_port;
          f.only_address = port.host_ip;
          f.published_by = w.name;
          cfg.port_forwards.push_back(std::move(f));
        }
      }
}

namespace {

// Whether two listeners (an address or "every address") overlap.
bool overlap(const std::optional<config::Prefix>& a, const std::optional<config::Prefix>& b) {
  return !a || !b || (a->family == b->family && a->addr == b->addr);
}

std::string port_text(const PublishedPort& p) {
  return std::to_string(p.host_port) + "/" + config::to_string(p.proto) +
         (p.host_ip ? " on " + p.host_ip->to_string() : "");
}

}  // namespace

std::string published_port_conflict(const config::Config& cfg, const std::vector<Workload>& others,
                                    const Workload& candidate) {
  for (std::size_t i = 0; i < candidate.ports.size(); ++i) {
    const auto& p = candidate.ports[i];
    for (std::size_t j = 0; j < i; ++j) {
      const auto& q = candidate.ports[j];
      if (q.proto == p.proto && q.host_port == p.host_port && overlap(q.host_ip, p.host_ip))
        return "host port " + port_text(p) + " is mapped twice";
    }
    for (const auto& f : cfg.port_forwards)
      if (f.published_by.empty() && f.proto == p.proto && f.port == p.host_port)
        return "host port " + port_text(p) +
               " is a [[nat]] port_forward of the configuration (line " +
               std::to_string(f.where.line) + ")";
    for (const auto& w : others) {
      if (w.network == candidate.network && w.container_id == candidate.container_id &&
          w.ifname == candidate.ifname)
        continue;  // its own earlier ADD
      for (const auto& q : w.ports)
        if (q.proto == p.proto && q.host_port == p.host_port && overlap(q.host_ip, p.host_ip))
          return "host port " + port_text(p) + " is published by container " + w.name + " already";
    }
  }
  return {};
}

}  // namespace sluice::policy
