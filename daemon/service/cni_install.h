// `sluicectl cni install` (POST /api/v1/cni/install): sluice-cni and its
// network configuration put where container runtimes look for them, the
// configuration naming this sluiced's control socket and pending-DEL
// directory. docs/cni.md ("Installing").
#pragma once

#include <string>
#include <vector>

namespace sluice::service {

struct CniInstallRequest {
  std::string conf_dir;       // where the conflist goes (/etc/cni/net.d)
  std::string bin_dir;        // where the plugin goes
  std::string network;        // the network's name ("sluice")
  std::string plugin_source;  // the sluice-cni binary to install
  std::string socket;         // this sluiced's control socket
  std::string pending_dir;    // where the plugin keeps DELs made while sluiced is down
};

struct CniInstallOutcome {
  std::string error;  // non-empty: nothing was changed
  std::string conflist;
  std::string plugin;
  std::vector<std::string> written;  // the files written (none when all were current)
};

// /usr/lib/cni when it exists (Debian's podman and containerd packages
// look there; sluice's package installs the plugin there), else
// /opt/cni/bin.
std::string default_cni_bin_dir();

// The sluice-cni beside this executable (a build tree, /usr/sbin next to
// nothing: then the package's /usr/lib/cni/sluice-cni).
std::string default_cni_plugin_source();

CniInstallOutcome install_cni(const CniInstallRequest& request);

}  // namespace sluice::service
