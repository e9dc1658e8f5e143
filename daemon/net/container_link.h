// A container's link to the host (CNI mode): a veth pair whose container
// end sits in the container's network namespace under the name the
// runtime asked for, with the container's addresses and a default route
// via a link-local gateway on the host end; the host end carries that
// gateway address and a route to each container address. No bridge: the
// host routes, and sluice's programs on the host end see every packet.
#pragma once

#include <string>
#include <vector>

#include "config/address.h"

namespace sluice::net {

// The gateway a container's default route points at: the host end's own
// address, the same on every host end.
inline constexpr const char* kContainerGateway4 = "169.254.1.1";
inline constexpr const char* kContainerGateway6 = "fe80::1";

struct ContainerLinkRequest {
  std::string netns;                      // the container's network namespace (a path)
  std::string ifname;                     // the container end's name
  std::string host_name;                  // the host end's name (host_link_name())
  std::vector<config::Prefix> addresses;  // the container's, host addresses (/32, /128)
};

struct ContainerLink {
  int host_ifindex = 0;
  std::string host_mac;
  int container_ifindex = 0;
  std::string container_mac;
};

// The host end's name for an attachment: stable, short ("sl" and 12 hex
// digits), and different for different attachments.
std::string host_link_name(const std::string& network, const std::string& container_id,
                           const std::string& ifname);

// Makes the link. Throws std::runtime_error saying what failed; then
// nothing of it is left behind.
ContainerLink add_container_link(const ContainerLinkRequest& r);

// Removes the pair by its host end (the container end and the routes go
// with it). False when there was no such link.
bool remove_container_link(const std::string& host_name);

}  // namespace sluice::net
