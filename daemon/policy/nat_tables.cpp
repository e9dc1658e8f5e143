#include "policy/nat_tables.h"

#include <arpa/inet.h>

#include <cstring>

#include "policy/abi_values.h"

namespace sluice::policy {

namespace {

bool link_local(const config::Prefix& p) {
  if (p.family == config::Family::V4) return p.addr[0] == 169 && p.addr[1] == 254;
  return p.addr[0] == 0xfe && (p.addr[1] & 0xc0) == 0x80;
}

const InterfaceState* find(const std::vector<InterfaceState>& all, const std::string& name) {
  for (const auto& i : all)
    if (i.name == name) return &i;
  return nullptr;
}

sluice_masq_source_key masq_key(std::uint32_t ifindex, const config::Prefix& p) {
  sluice_masq_source_key k{};
  k.prefixlen = SLUICE_MASQ_KEY_FIXED_BITS + p.length;
  k.ifindex = ifindex;
  k.family = abi_family(p.family);
  std::memcpy(k.addr, p.addr.data(), 16);
  return k;
}

template <typename T>
bool same_bytes(const T& a, const T& b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

}  // namespace

bool NatTables::operator==(const NatTables& o) const {
  auto pairs_equal = [](const auto& a, const auto& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!same_bytes(a[i].first, b[i].first) || !same_bytes(a[i].second, b[i].second))
        return false;
    return true;
  };
  if (masq_sources.size() != o.masq_sources.size()) return false;
  for (std::size_t i = 0; i < masq_sources.size(); ++i)
    if (!same_bytes(masq_sources[i], o.masq_sources[i])) return false;
  return pairs_equal(iface_addrs, o.iface_addrs) && pairs_equal(port_forwards, o.port_forwards);
}

NatTables compile_nat(const config::Config& cfg, const std::vector<InterfaceState>& interfaces) {
  NatTables out;
  for (const auto& itf : interfaces) {
    for (auto family : {config::Family::V4, config::Family::V6}) {
      for (const auto& a : itf.addresses) {
        if (a.family != family || link_local(a)) continue;
        sluice_iface_addr_key k{};
        k.ifindex = itf.ifindex;
        k.family = abi_family(family);
        sluice_iface_addr v{};
        std::memcpy(v.addr, a.addr.data(), 16);
        out.iface_addrs.push_back({k, v});
        break;
      }
    }
  }
  for (const auto& m : cfg.masquerades) {
    const auto* itf = find(interfaces, m.out_interface);
    if (!itf) continue;
    if (m.from.any) {
      for (auto family : {config::Family::V4, config::Family::V6}) {
        config::Prefix all;
        all.family = family;
        all.length = 0;
        out.masq_sources.push_back(masq_key(itf->ifindex, all));
      }
    } else {
      for (const auto& p : m.from.prefixes) out.masq_sources.push_back(masq_key(itf->ifindex, p));
    }
  }
  for (const auto& f : cfg.port_forwards) {
    const auto* itf = find(interfaces, f.in_interface);
    if (!itf) continue;
    for (const auto& a : itf->addresses) {
      if (a.family != f.to.family) continue;
      if (f.only_address && f.only_address->addr != a.addr) continue;
      sluice_port_forward_key k{};
      k.family = abi_family(a.family);
      k.proto = abi_proto(f.proto);
      k.port = htons(f.port);
      std::memcpy(k.addr, a.addr.data(), 16);
      sluice_port_forward v{};
      std::memcpy(v.addr, f.to.addr.data(), 16);
      v.port = htons(f.to_port);
      out.port_forwards.push_back({k, v});
    }
  }
  return out;
}

}  // namespace sluice::policy
