// Which BPF programs this build carries: the SHA-256 of each object file
// compiled into the daemon (what `sluicectl version` shows, so that two
// hosts can be compared without comparing packages).
#pragma once

#include <string>
#include <vector>

namespace sluice::datapath {

struct ObjectDigest {
  std::string object;  // "xdp_ingress", "tc_ingress", "tc_egress"
  std::string sha256;  // lowercase hex
};

std::vector<ObjectDigest> object_digests();

}  // namespace sluice::datapath
