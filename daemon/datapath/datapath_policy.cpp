// Writing a compiled ruleset into the idle generation of the policy maps,
// and emptying a generation again (Datapath::apply, docs/policy.md).
#include <net/if.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <thread>

#include "datapath/datapath_impl.h"
#include "datapath/map_writes.h"
#include "policy/abi_values.h"

namespace sluice::datapath {

namespace {

sluice_class_key class_key(const policy::ClassEntry& c, std::uint32_t gen) {
  sluice_class_key k{};
  k.gen = static_cast<std::uint8_t>(gen);
  k.context = c.context;
  k.family = policy::abi_family(c.prefix.family);
  k.prefixlen = c.prefix.length;
  std::memcpy(k.addr, c.prefix.addr.data(), 16);
  return k;
}

}  // namespace

void Datapath::Impl::clear_generation(std::uint32_t gen) {
  auto& w = written[gen];
  delete_all(map(ingress->maps.contexts), w.contexts);
  delete_all(map(ingress->maps.iface_ids), w.ifaces);
  delete_all(map(ingress->maps.source_classes), w.classes);
  delete_all(map(ingress->maps.targets), w.targets);
  delete_all(map(ingress->maps.dest_tables), w.tables);
  delete_all(map(ingress->maps.groups), w.groups);
  delete_all(map(ingress->maps.decisions), w.decisions);
  if (w.counters_dirty) {
    zero_percpu(map(ingress->maps.rule_counters), sluice_rule_counter_index(gen, 0), w.rule_count);
    zero_percpu(map(ingress->maps.default_counters), sluice_default_counter_index(gen, 0),
                SLUICE_CHAIN_COUNT);
  }
  w = Written{};
  w.counters_dirty = false;
}

void Datapath::Impl::write_source_lengths(std::uint32_t gen, const policy::CompiledPolicy& policy) {
  // Every context slot of the generation: those the ruleset does not use
  // are emptied, so nothing of an older ruleset is found through them.
  std::vector<std::uint32_t> keys;
  std::vector<sluice_prefix_lengths> lengths;
  std::vector<std::uint32_t> any;
  for (std::uint32_t c = 0; c < SLUICE_MAX_CONTEXTS; ++c) {
    for (auto family : {config::Family::V4, config::Family::V6}) {
      auto f = policy::family_slot(family);
      sluice_prefix_lengths v{};
      std::uint32_t any_set = 0;
      if (c < policy.source_lengths.size()) {
        const auto& l = policy.source_lengths[c][f];
        v.count = static_cast<std::uint32_t>(l.size());
        std::copy(l.begin(), l.end(), v.len);
        any_set = policy.any_scope[c][f];
      }
      keys.push_back(sluice_source_lengths_index(gen, c, policy::abi_family(family)));
      lengths.push_back(v);
      any.push_back(any_set);
    }
  }
  update_all(map(ingress->maps.source_lengths), keys, lengths, "source prefix lengths");
  update_all(map(ingress->maps.any_scopes), keys, any, "scopes from any");
}

// The interface contexts, and the ids of the interfaces rules name.
void Datapath::Impl::write_contexts(std::uint32_t gen, const policy::CompiledPolicy& policy) {
  auto& w = written[gen];
  std::vector<std::uint32_t> ids;
  for (const auto& c : policy.contexts) {
    w.contexts.push_back(c.key);
    w.contexts.back().gen = static_cast<std::uint8_t>(gen);
    ids.push_back(c.id);
  }
  update_all(map(ingress->maps.contexts), w.contexts, ids, "interface contexts");
  w.interface_names = policy.interfaces;
  write_interface_ids(gen);
}

// The ids of the interfaces rules name, by their current ifindex (one not
// there now has no packets to judge); again whenever interfaces come, go
// or are made anew.
void Datapath::Impl::write_interface_ids(std::uint32_t gen) {
  auto& w = written[gen];
  delete_all(map(ingress->maps.iface_ids), w.ifaces);
  w.ifaces.clear();
  std::vector<std::uint32_t> ids;
  for (std::size_t i = 0; i < w.interface_names.size(); ++i) {
    unsigned ifindex = if_nametoindex(w.interface_names[i].c_str());
    if (!ifindex) continue;
    w.ifaces.push_back({gen, ifindex});
    ids.push_back(static_cast<std::uint32_t>(i + 1));
  }
  update_all(map(ingress->maps.iface_ids), w.ifaces, ids, "interface ids");
}

void Datapath::refresh_interface_ids() { impl_->write_interface_ids(active_generation()); }

namespace {

// Keys of one map for generation gen, and their values, from compiled
// entries with .key/.value.
template <typename Entry, typename Key, typename Value>
void keyed(const std::vector<Entry>& entries, std::uint32_t gen, std::vector<Key>& keys,
           std::vector<Value>& values) {
  keys.reserve(entries.size());
  values.reserve(entries.size());
  for (const auto& e : entries) {
    keys.push_back(e.key);
    keys.back().gen = static_cast<std::uint8_t>(gen);
    values.push_back(e.value);
  }
}

}  // namespace

namespace {

// One map's batch write, and how many entries it holds.
struct MapWrite {
  std::size_t entries;
  std::function<void()> write;
};

// Runs the writes on two threads, split by entries: the kernel inserts
// into different maps in parallel, which halves the time to the flip on
// two cores. The first failure is thrown once both are done.
void write_in_parallel(std::vector<MapWrite> jobs) {
  std::sort(jobs.begin(), jobs.end(),
            [](const MapWrite& a, const MapWrite& b) { return a.entries > b.entries; });
  std::vector<const MapWrite*> halves[2];
  std::size_t load[2] = {0, 0};
  for (const auto& j : jobs) {
    int lighter = load[0] <= load[1] ? 0 : 1;
    halves[lighter].push_back(&j);
    load[lighter] += j.entries;
  }
  std::exception_ptr failed;
  std::thread second([&] {
    try {
      for (const auto* j : halves[1]) j->write();
    } catch (...) {
      failed = std::current_exception();
    }
  });
  try {
    for (const auto* j : halves[0]) j->write();
  } catch (...) {
    second.join();
    throw;
  }
  second.join();
  if (failed) std::rethrow_exception(failed);
}

}  // namespace

void Datapath::Impl::write_generation(std::uint32_t gen, const policy::CompiledPolicy& policy) {
  auto& w = written[gen];
  std::vector<sluice_class_value> class_values;
  for (const auto& c : policy.classes) {
    w.classes.push_back(class_key(c, gen));
    class_values.push_back(c.value);
  }
  std::vector<std::uint32_t> set_keys;
  std::vector<sluice_prefix_lengths> set_values;
  for (const auto& l : policy.length_sets) {
    set_keys.push_back(sluice_length_set_index(gen, l.id));
    sluice_prefix_lengths v{};
    v.count = static_cast<std::uint32_t>(l.lengths.size());
    std::copy(l.lengths.begin(), l.lengths.end(), v.len);
    set_values.push_back(v);
  }
  w.length_sets = set_keys.size();
  std::vector<sluice_target> target_values;
  std::vector<sluice_group> group_values;
  std::vector<sluice_decision> decision_values;
  keyed(policy.targets, gen, w.targets, target_values);
  std::vector<sluice_dest_table> table_values;
  keyed(policy.tables, gen, w.tables, table_values);
  keyed(policy.groups, gen, w.groups, group_values);
  keyed(policy.decisions, gen, w.decisions, decision_values);

  // Everything a lookup reaches later is written before what leads to it;
  // nothing reads this generation before the flip anyway.
  write_in_parallel({
      {w.targets.size(),
       [&] {
         update_all(map(ingress->maps.targets), w.targets, target_values, "destination entries");
       }},
      {w.tables.size(),
       [&] {
         update_all(map(ingress->maps.dest_tables), w.tables, table_values, "destination tables");
       }},
      {w.decisions.size(),
       [&] {
         update_all(map(ingress->maps.decisions), w.decisions, decision_values, "policy decisions");
       }},
      {w.classes.size(),
       [&] {
         update_all(map(ingress->maps.source_classes), w.classes, class_values, "source classes");
       }},
      {w.groups.size(),
       [&] { update_all(map(ingress->maps.groups), w.groups, group_values, "rule groups"); }},
      {set_keys.size(),
       [&] { update_all(map(ingress->maps.length_sets), set_keys, set_values, "length sets"); }},
  });
  write_source_lengths(gen, policy);
  write_contexts(gen, policy);
  w.rule_count = static_cast<std::uint32_t>(policy.rule_names.size());
  w.counters_dirty = true;
}

}  // namespace sluice::datapath
