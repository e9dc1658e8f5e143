// The conntrack tables as the daemon holds them: TCP flows in one map
// ("conntrack"), UDP, ICMP and the rest in another ("conntrack_other"),
// so that a flood of one kind evicts only its own (bpf/lib/conntrack_maps.h).
// A flow's translations share its protocol, so its table.
#pragma once

#include <netinet/in.h>

#include <array>

#include "sluice/abi.h"

namespace sluice::datapath {

struct ConntrackTables {
  int tcp = -1;
  int other = -1;

  int for_table(sluice_ct_table t) const { return t == SLUICE_CT_TABLE_TCP ? tcp : other; }
  int for_key(const sluice_ct_key& key) const { return key.proto == IPPROTO_TCP ? tcp : other; }
  std::array<int, SLUICE_CT_TABLE_COUNT> all() const { return {tcp, other}; }
};

}  // namespace sluice::datapath
