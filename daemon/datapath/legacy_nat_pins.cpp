#include "datapath/legacy_nat_pins.h"

#include <bpf/bpf.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

#include "datapath/conntrack_translation.h"
#include "sluice/abi.h"

namespace sluice::datapath {

namespace {

// The old table's layout (no longer in abi.h: no program uses it): the
// tuple as it arrived from outside, and where it went.
struct LegacyNatKey {
  std::uint8_t src[16];
  std::uint8_t dst[16];
  std::uint16_t sport, dport;
  std::uint8_t proto, family, pad[2];
};
struct LegacyNatEntry {
  sluice_ct_key flow;
  std::uint8_t addr[16];
  std::uint16_t port;
  std::uint8_t pad[2];
};

std::uint64_t monotonic_ns() {  // bpf_ktime_get_ns()'s clock
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<std::uint64_t>(t.tv_sec) * 1000000000ull +
         static_cast<std::uint64_t>(t.tv_nsec);
}

}  // namespace

std::size_t carry_legacy_nat_table(const std::string& nat_pin, const ConntrackTables& tables) {
  int fd = bpf_obj_get(nat_pin.c_str());
  if (fd < 0) return 0;
  std::size_t carried = 0;
  bpf_map_info info{};
  __u32 len = sizeof info;
  // Anything but the layout above is not ours to read: it is only unpinned.
  if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.key_size == sizeof(LegacyNatKey) &&
      info.value_size == sizeof(LegacyNatEntry)) {
    LegacyNatKey key{}, next{};
    const void* prev = nullptr;
    std::uint64_t now = monotonic_ns();
    while (bpf_map_get_next_key(fd, prev, &next) == 0) {
      key = next;
      prev = &key;
      LegacyNatEntry old{};
      sluice_ct_entry flow{};
      if (bpf_map_lookup_elem(fd, &key, &old) != 0) continue;
      // A stale one (its flow gone) is left behind, as the old version
      // would have reused it.
      if (bpf_map_lookup_elem(tables.for_key(old.flow), &old.flow, &flow) != 0 ||
          is_translation(flow))
        continue;
      bool src_is_a = false;
      sluice_ct_key tkey =
          conntrack_key(key.family, key.proto, key.src, key.sport, key.dst, key.dport, &src_is_a);
      sluice_ct_entry t{};
      t.nat = SLUICE_NAT_TRANSLATION;
      t.originator_is_a = src_is_a ? 1 : 0;
      t.created_ns = t.last_seen_ns = now;
      std::memcpy(t.dnat_addr, old.addr, sizeof t.dnat_addr);
      t.dnat_port = old.port;
      // Whatever holds that key already (a connection of the host's own)
      // keeps it.
      if (bpf_map_update_elem(tables.for_key(tkey), &tkey, &t, BPF_NOEXIST) == 0) ++carried;
    }
  }
  close(fd);
  unlink(nat_pin.c_str());
  return carried;
}

}  // namespace sluice::datapath
