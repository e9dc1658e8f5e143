#include "datapath/legacy_conntrack_split.h"

#include <bpf/bpf.h>

#include <cerrno>
#include <cstdint>
#include <vector>

#include "datapath/bpf_error.h"

namespace sluice::datapath {

std::size_t move_non_tcp_entries(const ConntrackTables& tables) {
  constexpr std::uint32_t kChunk = 4096;
  std::vector<sluice_ct_key> keys(kChunk);
  std::vector<sluice_ct_entry> values(kChunk);
  std::uint32_t token = 0;  // hash maps resume by bucket number
  bool first = true;
  std::size_t moved = 0;
  for (;;) {
    std::uint32_t count = kChunk;
    int rc = bpf_map_lookup_batch(tables.tcp, first ? nullptr : &token, &token, keys.data(),
                                  values.data(), &count, nullptr);
    if (rc != 0 && rc != -ENOENT) throw BpfError("reading the previous conntrack table", -rc);
    // Buckets already read may lose entries without upsetting the walk.
    for (std::uint32_t i = 0; i < count; ++i) {
      if (keys[i].proto == IPPROTO_TCP) continue;
      // A flow made in the other table meanwhile (its packets came in
      // since the new programs were loaded) is newer: it stays.
      if (bpf_map_update_elem(tables.other, &keys[i], &values[i], BPF_NOEXIST) == 0) ++moved;
      bpf_map_delete_elem(tables.tcp, &keys[i]);
    }
    if (rc == -ENOENT) return moved;  // the last chunk
    first = false;
  }
}

}  // namespace sluice::datapath
