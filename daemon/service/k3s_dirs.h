// Where a k3s node's containerd looks for CNI plugins and network
// configurations: what `sluicectl cni install --k3s` (and the DaemonSet's
// init step, `sluiced --install-cni k3s`) installs into. docs/k3s.md.
#pragma once

#include <stdexcept>
#include <string>

namespace sluice::service {

struct CniDirs {
  std::string conf_dir;
  std::string bin_dir;
};

// Read from k3s's containerd configuration
// (/var/lib/rancher/k3s/agent/etc/containerd/config.toml: the CRI
// plugin's cni table, bin_dir or bin_dirs and conf_dir); what it does not
// say, k3s's defaults: conf_dir /var/lib/rancher/k3s/agent/etc/cni/net.d,
// bin_dir /var/lib/rancher/k3s/data/cni (older releases:
// data/current/bin). root prefixes every path (tests). Throws
// std::runtime_error when this is no k3s node.
CniDirs k3s_cni_dirs(const std::string& root = "");

}  // namespace sluice::service
