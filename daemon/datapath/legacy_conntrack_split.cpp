#include "datapath/legacy_conntrack_split.h"

#include <bpf/bpf.h>

#include "datapath/map_walk.h"

namespace sluice::datapath {

std::size_t move_non_tcp_entries(const ConntrackTables& tables) {
  std::size_t moved = 0;
  // Entries of buckets already read may go without upsetting the walk.
  for_each_entry<sluice_ct_key, sluice_ct_entry>(
      tables.tcp, [&](const sluice_ct_key& key, const sluice_ct_entry& value) {
        if (key.proto == IPPROTO_TCP) return true;
        // A flow made in the other table meanwhile (its packets came in
        // since the new programs were loaded) is newer: it stays.
        if (bpf_map_update_elem(tables.other, &key, &value, BPF_NOEXIST) == 0) ++moved;
        bpf_map_delete_elem(tables.tcp, &key);
        return true;
      });
  return moved;
}

}  // namespace sluice::datapath
