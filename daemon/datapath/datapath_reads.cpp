// What Datapath reads back (datapath.h): counters summed over the CPUs,
// each map's fill and memory, the conntrack table walked or cleared, and
// the events the ring could not take.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "datapath/bpf_error.h"
#include "datapath/conntrack_translation.h"
#include "datapath/datapath_impl.h"
#include "datapath/map_walk.h"

namespace sluice::datapath {

sluice_counter sum_percpu(int fd, std::uint32_t index) {
  int ncpu = libbpf_num_possible_cpus();
  std::vector<sluice_counter> per_cpu(static_cast<std::size_t>(ncpu));
  if (bpf_map_lookup_elem(fd, &index, per_cpu.data()) != 0)
    throw BpfError("reading counter " + std::to_string(index), errno);
  sluice_counter total{};
  for (const auto& c : per_cpu) {
    total.packets += c.packets;
    total.bytes += c.bytes;
  }
  return total;
}

sluice_counter Datapath::fastpath_counter(sluice_fastpath_counter which) const {
  return sum_percpu(impl_->map(impl_->xdp->maps.fastpath_counters), which);
}

sluice_counter Datapath::nat_counter(sluice_nat_counter which) const {
  return sum_percpu(impl_->map(impl_->ingress->maps.nat_counters), which);
}

sluice_counter Datapath::rule_counter(std::uint32_t rule_index) const {
  return sum_percpu(impl_->map(impl_->ingress->maps.rule_counters),
                    sluice_rule_counter_index(active_generation(), rule_index));
}

sluice_counter Datapath::default_counter(config::Chain chain) const {
  return sum_percpu(
      impl_->map(impl_->ingress->maps.default_counters),
      sluice_default_counter_index(active_generation(), static_cast<std::uint32_t>(chain)));
}

sluice_counter Datapath::audit_counter(sluice_audit_reason reason) const {
  return sum_percpu(impl_->map(impl_->ingress->maps.audit_counters), reason);
}

sluice_counter Datapath::drop_counter(sluice_drop_reason reason) const {
  return sum_percpu(impl_->map(impl_->ingress->maps.drop_reasons), reason);
}

sluice_counter Datapath::passed_counter() const {
  return sum_percpu(impl_->map(impl_->ingress->maps.passed), 0);
}

namespace {

// The memory the kernel charges to a map, from /proc/self/fdinfo.
std::size_t map_memory(int fd) {
  std::ifstream in("/proc/self/fdinfo/" + std::to_string(fd));
  std::string key;
  std::size_t value = 0;
  while (in >> key) {
    if (key == "memlock:") {
      in >> value;
      return value;
    }
  }
  return 0;
}

}  // namespace

std::vector<Datapath::MapUsage> Datapath::map_usage(const ConntrackTableCounts& counted) const {
  const auto& d = *impl_;
  std::vector<MapUsage> out;
  auto add = [&](bpf_map* m, std::size_t entries) {
    MapUsage u;
    u.name = bpf_map__name(m);
    u.entries = entries;
    u.capacity = bpf_map__max_entries(m);
    u.memory = map_memory(bpf_map__fd(m));
    out.push_back(std::move(u));
  };
  for (auto [map, table] : {std::pair{d.ingress->maps.conntrack, SLUICE_CT_TABLE_TCP},
                            std::pair{d.ingress->maps.conntrack_other, SLUICE_CT_TABLE_OTHER}}) {
    const auto& counts = counted[table];
    add(map, counts.flows + counts.translations);
    out.back().translations = counts.translations;
    out.back().conntrack_table = table == SLUICE_CT_TABLE_TCP ? "tcp" : "other";
  }
  auto both = [&](auto member) {
    return (d.written[0].*member).size() + (d.written[1].*member).size();
  };
  using W = Datapath::Impl::Written;
  add(d.ingress->maps.contexts, both(&W::contexts));
  add(d.ingress->maps.iface_ids, both(&W::ifaces));
  add(d.ingress->maps.source_classes, both(&W::classes));
  add(d.ingress->maps.length_sets, d.written[0].length_sets + d.written[1].length_sets);
  add(d.ingress->maps.targets, both(&W::targets));
  add(d.ingress->maps.dest_tables, both(&W::tables));
  add(d.ingress->maps.groups, both(&W::groups));
  add(d.ingress->maps.decisions, both(&W::decisions));
  add(d.ingress->maps.local_addrs, d.local.size());
  std::size_t v4 = 0, v6 = 0;
  for (const auto& p : d.prefilter) (p.family == config::Family::V4 ? v4 : v6)++;
  add(d.xdp->maps.prefilter4, v4);
  add(d.xdp->maps.prefilter6, v6);
  return out;
}

Datapath::ConntrackCounts Datapath::count_conntrack(sluice_ct_table table) const {
  // Counted in the kernel: copying the large table out only to count it
  // took a quarter of a second when it was full.
  sluice_table_counts counts{};
  counts.table = table;
  LIBBPF_OPTS(bpf_test_run_opts, run, .ctx_in = &counts, .ctx_size_in = sizeof counts);
  if (bpf_prog_test_run_opts(bpf_program__fd(impl_->ingress->progs.sluice_count_entries), &run) !=
      0)
    throw BpfError("counting the conntrack table's flows and translations", errno);
  return {counts.flows, counts.translations};
}

Datapath::ConntrackTableCounts Datapath::count_conntrack_tables() const {
  ConntrackTableCounts out;
  for (auto table : {SLUICE_CT_TABLE_TCP, SLUICE_CT_TABLE_OTHER})
    out[table] = count_conntrack(table);
  return out;
}

Datapath::ConntrackCounts Datapath::count_conntrack() const {
  auto tcp = count_conntrack(SLUICE_CT_TABLE_TCP), other = count_conntrack(SLUICE_CT_TABLE_OTHER);
  return {tcp.flows + other.flows, tcp.translations + other.translations};
}

std::vector<Datapath::ConntrackEntry> Datapath::conntrack() const {
  std::vector<ConntrackEntry> out;
  for_each_conntrack([&](const ConntrackEntry& e) {
    out.push_back(e);
    return true;
  });
  return out;
}

void Datapath::for_each_conntrack(const std::function<bool(const ConntrackEntry&)>& fn) const {
  bool going = true;
  for (int fd : conntrack_tables().all()) {
    for_each_entry<sluice_ct_key, sluice_ct_entry>(
        fd, [&](const sluice_ct_key& k, const sluice_ct_entry& v) {
          going = is_translation(v) || fn(ConntrackEntry{k, v});
          return going;
        });
    if (!going) return;
  }
}

bool Datapath::read_conntrack_chunk(ConntrackCursor& cursor, std::size_t most,
                                    std::vector<ConntrackEntry>& out) const {
  std::vector<sluice_ct_key> keys(most);
  std::vector<sluice_ct_entry> values(most);
  auto count = static_cast<std::uint32_t>(most);
  int fd = conntrack_tables().for_table(static_cast<sluice_ct_table>(cursor.table));
  int rc = bpf_map_lookup_batch(fd, cursor.started ? &cursor.bucket : nullptr, &cursor.bucket,
                                keys.data(), values.data(), &count, nullptr);
  if (rc != 0 && rc != -ENOENT) throw BpfError("reading the conntrack table in chunks", -rc);
  out.clear();
  for (std::uint32_t i = 0; i < count; ++i) out.push_back({keys[i], values[i]});
  cursor.started = rc == 0;
  if (rc == 0) return false;
  // -ENOENT: this table's last chunk; the next table, or start over.
  cursor.bucket = 0;
  if (++cursor.table < SLUICE_CT_TABLE_COUNT) return false;
  cursor.table = 0;
  return true;
}

bool Datapath::remove_expired_conntrack(const ConntrackEntry& seen) {
  int fd = conntrack_tables().for_key(seen.key);
  sluice_ct_entry now{};
  if (bpf_map_lookup_elem(fd, &seen.key, &now) != 0) return false;
  if (now.last_seen_ns != seen.value.last_seen_ns) return false;  // alive after all
  return bpf_map_delete_elem(fd, &seen.key) == 0;
}

bool Datapath::remove_stale_translation(const ConntrackEntry& seen) {
  int fd = conntrack_tables().for_key(seen.key);  // its flow's protocol: the same table
  sluice_ct_key owner = translation_owner(seen.key, seen.value);
  sluice_ct_entry entry{};
  if (bpf_map_lookup_elem(fd, &owner, &entry) == 0 && !is_translation(entry)) return false;
  if (bpf_map_lookup_elem(fd, &seen.key, &entry) != 0) return false;
  // Made anew (for another flow, or the same one again) since it was read.
  if (!is_translation(entry) || entry.created_ns != seen.value.created_ns) return false;
  return bpf_map_delete_elem(fd, &seen.key) == 0;
}

void Datapath::clear_conntrack() {
  // Keys first, then the deletes: asking for the first key again after
  // each delete scans every emptied bucket anew (quadratic in the fill).
  for (int fd : conntrack_tables().all()) {
    std::vector<sluice_ct_key> keys;
    for_each_entry<sluice_ct_key, sluice_ct_entry>(fd, [&](const sluice_ct_key& k, const auto&) {
      keys.push_back(k);
      return true;
    });
    for (const auto& k : keys) bpf_map_delete_elem(fd, &k);
  }
}

std::uint32_t Datapath::active_generation() const { return impl_->read_settings().active_gen & 1; }

int Datapath::tc_ingress_fd() const {
  return bpf_program__fd(impl_->ingress->progs.sluice_tc_ingress);
}
int Datapath::tc_egress_fd() const {
  return bpf_program__fd(impl_->egress->progs.sluice_tc_egress);
}
int Datapath::xdp_ingress_fd() const {
  return bpf_program__fd(impl_->xdp->progs.sluice_xdp_ingress);
}
ConntrackTables Datapath::conntrack_tables() const {
  return {impl_->map(impl_->ingress->maps.conntrack),
          impl_->map(impl_->ingress->maps.conntrack_other)};
}
int Datapath::events_fd() const { return impl_->map(impl_->ingress->maps.events); }

std::uint64_t Datapath::events_lost(sluice_event_loss why) const {
  auto ncpu = static_cast<std::size_t>(libbpf_num_possible_cpus());
  std::vector<std::uint64_t> per_cpu(ncpu);
  std::uint32_t key = why;
  if (bpf_map_lookup_elem(impl_->map(impl_->ingress->maps.event_losses), &key, per_cpu.data()) != 0)
    throw BpfError("reading lost events", errno);
  std::uint64_t total = 0;
  for (auto v : per_cpu) total += v;
  return total;
}

}  // namespace sluice::datapath
