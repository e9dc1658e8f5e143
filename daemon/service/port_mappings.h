// The CNI portMappings capability (runtimeConfig.portMappings: hostPort,
// containerPort, protocol, hostIP), read and checked, and kept as JSON in
// the state database beside the container's addresses.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "policy/identities.h"

namespace sluice::service {

struct PortMappingsRead {
  std::vector<policy::PublishedPort> ports;
  std::string error;  // non-empty: what is wrong, naming the entry
};

// The mappings a network configuration carries (none without
// runtimeConfig.portMappings).
PortMappingsRead read_port_mappings(const nlohmann::json& config);

nlohmann::json ports_to_json(const std::vector<policy::PublishedPort>& ports);
std::string ports_to_text(const std::vector<policy::PublishedPort>& ports);
std::vector<policy::PublishedPort> ports_from_text(const std::string& text);

}  // namespace sluice::service
