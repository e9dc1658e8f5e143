// Translations share the conntrack table with flows (SLUICE_NAT_TRANSLATION
// in abi.h): the daemon's view of them, matching bpf/lib/conntrack.h.
#pragma once

#include <cstdint>

#include "sluice/abi.h"

namespace sluice::datapath {

inline bool is_translation(const sluice_ct_entry& e) {
  return (e.nat & SLUICE_NAT_TRANSLATION) != 0;
}

// The normalised key of the flow src:sport -> dst:dport (ports in network
// order), as the datapath's ct_make_key() makes it; *src_is_a says whether
// the source became endpoint a.
sluice_ct_key conntrack_key(std::uint8_t family, std::uint8_t proto, const std::uint8_t* src,
                            std::uint16_t sport, const std::uint8_t* dst, std::uint16_t dport,
                            bool* src_is_a = nullptr);

// The key of the flow translation t (found under key) leads to.
sluice_ct_key translation_owner(const sluice_ct_key& key, const sluice_ct_entry& t);

}  // namespace sluice::datapath
