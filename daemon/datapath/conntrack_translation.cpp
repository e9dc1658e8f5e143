#include "datapath/conntrack_translation.h"

#include <cstring>

namespace sluice::datapath {

namespace {

constexpr std::uint8_t kIcmp = 1, kIcmpV6 = 58;

// The datapath's endpoint_less(): bytes of the address, then the port's
// two bytes read as the datapath reads them (a native u16 of network
// order bytes). Any total order would do; it has to be the same one.
bool endpoint_less(const std::uint8_t* a, std::uint16_t pa, const std::uint8_t* b,
                   std::uint16_t pb) {
  int c = std::memcmp(a, b, 16);
  return c != 0 ? c < 0 : pa < pb;
}

}  // namespace

sluice_ct_key conntrack_key(std::uint8_t family, std::uint8_t proto, const std::uint8_t* src,
                            std::uint16_t sport, const std::uint8_t* dst, std::uint16_t dport,
                            bool* src_is_a) {
  sluice_ct_key key{};
  bool a = endpoint_less(src, sport, dst, dport);
  key.family = family;
  key.proto = proto;
  std::memcpy(key.addr_a, a ? src : dst, 16);
  std::memcpy(key.addr_b, a ? dst : src, 16);
  key.port_a = a ? sport : dport;
  key.port_b = a ? dport : sport;
  if (src_is_a) *src_is_a = a;
  return key;
}

sluice_ct_key translation_owner(const sluice_ct_key& key, const sluice_ct_entry& t) {
  const std::uint8_t* outside = t.originator_is_a ? key.addr_a : key.addr_b;
  std::uint16_t outside_port = t.originator_is_a ? key.port_a : key.port_b;
  if (key.proto == kIcmp || key.proto == kIcmpV6) outside_port = t.dnat_port;
  return conntrack_key(key.family, key.proto, outside, outside_port, t.dnat_addr, t.dnat_port);
}

}  // namespace sluice::datapath
